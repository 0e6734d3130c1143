"""Readers: every format, the demo corpus, and bad input of every kind."""

import gzip
import hashlib
import json
import time
from datetime import date
from pathlib import Path

import pytest

import rag.ingest.markup as markup
from rag.ingest.readers import SUPPORTED_SUFFIXES, ReadError, ReadLimits, read_file

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KAZAKH = REPO / "corpus" / "2025-03-21-kazakhstan-albania-political-consultations.txt"
ARCHIVE = REPO / "corpus" / "state_dept_press_releases_2021-2022.jsonl"


def only_document(path: Path, **kwargs):
    result = read_file(path, **kwargs)
    assert result.errors == [], [str(e) for e in result.errors]
    assert len(result.documents) == 1
    return result.documents[0]


def only_error(path: Path) -> ReadError:
    result = read_file(path)
    assert result.documents == []
    assert len(result.errors) == 1
    return result.errors[0]


def assert_normalised(text: str) -> None:
    assert text == text.strip()
    assert "\n\n\n" not in text
    assert all(line == line.strip() for line in text.split("\n"))
    assert "  " not in text


# --- txt ----------------------------------------------------------------------------------


def test_kazakh_release_header_becomes_metadata_not_text():
    doc = only_document(KAZAKH)
    assert doc.published == date(2025, 3, 21)
    assert doc.source == "Kazakh MFA"
    assert doc.title == "Kazakhstan Albania political consultations"
    assert "Images" not in doc.text and "date 2025" not in doc.text
    assert doc.text.startswith("The first round of political consultations")
    assert_normalised(doc.text)
    assert len(doc.text.split("\n\n")) == 9  # nine paragraphs, each once separated by one blank line
    assert doc.language == "en"
    assert doc.path == str(KAZAKH)
    assert doc.doc_id == "file:" + hashlib.sha1(str(KAZAKH.resolve()).encode()).hexdigest()[:16]


def test_scraped_header_is_generalised_and_file_name_gives_title():
    doc = only_document(FIXTURES / "2024-05-02-kazakhstan-mongolia-consultations.txt")
    assert (doc.published, doc.source) == (date(2024, 5, 2), "Kazakh MFA")
    assert doc.title == "Kazakhstan Mongolia consultations"
    assert doc.text.split("\n\n")[1] == "The sides discussed trade, transit and cooperation within the U.N. and the SCO."
    assert_normalised(doc.text)


def test_txt_header_fields_and_title_line(tmp_path):
    doc = only_document(FIXTURES / "header-fields.txt")
    assert doc.title == "Joint Statement on Arctic Cooperation"
    assert doc.published == date(2022, 3, 4)
    assert (doc.source, doc.url) == ("Nordic Council", "https://example.org/arctic")
    assert doc.text == "The ministers met in Reykjavik.\nThey agreed to meet again next year."

    titled = only_document(FIXTURES / "titled-release.txt")  # starts with a UTF-8 BOM
    assert titled.title == "Foreign Minister Meets Albanian Counterpart"
    assert titled.text == "The ministers met on Monday.\n\nThey signed a memorandum."
    assert titled.published is None

    date_first = tmp_path / "notes.txt"
    date_first.write_text("Date: 2022-03-04\nTitle: Talks in Astana\n\nBody text.\n\nMore text.", encoding="utf-8")
    doc = only_document(date_first)
    assert (doc.title, doc.published, doc.text) == ("Talks in Astana", date(2022, 3, 4), "Body text.\n\nMore text.")

    undescriptive = tmp_path / "2023-01-05.txt"
    undescriptive.write_text("The parties agreed to extend the agreement. Talks continue.", encoding="utf-8")
    doc = only_document(undescriptive)
    assert doc.title == "The parties agreed to extend the agreement."  # first sentence when the name says nothing
    assert doc.published == date(2023, 1, 5)  # from the file name


def test_latin1_file_is_read_as_cp1252():
    doc = only_document(FIXTURES / "latin1-release.txt")
    assert doc.title == "Communiqué de presse"
    assert "rencontré son homologue à Zürich" in doc.text
    assert doc.metadata["encoding"] == "cp1252"
    assert doc.language == "fr"


# --- md, html -----------------------------------------------------------------------------


def test_markdown_front_matter_and_syntax_stripped():
    doc = only_document(FIXTURES / "release.md")
    assert doc.title == "Albania and Kazakhstan sign a road map"
    assert (doc.published, doc.source, doc.url) == (date(2025, 4, 10), "Albanian MFA", "https://example.org/road-map")
    assert doc.metadata["tags"] == ["albania", "kazakhstan"]
    assert "The foreign ministers signed a road map for 2025-2026." in doc.text
    assert "Next steps\n\nOpen a joint business council.\nHold the next round in Tirana." in doc.text
    for syntax in ("#", "**", "](", "`", "~~", "> ", "- Open", "---"):
        assert syntax not in doc.text
    assert_normalised(doc.text)


def test_markdown_first_heading_is_title():
    doc = only_document(FIXTURES / "headline.md")
    assert doc.title == "Statement on the Ceasefire"
    assert doc.text == "The Department welcomes the ceasefire announced today.\n\nFurther details will follow."


def test_markdown_setext_title_code_fence_table_and_escapes(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("Readout of the Talks\n====================\n\nAgenda\n------\n\n"
                    "| Topic | Lead |\n|---|---|\n| Trade | MFA |\n\n```\nraw *code* stays\n```\n\n"
                    "Costs rose 5\\* percent; see snake_case_name and <b>bold</b> &amp; more.\n", encoding="utf-8")
    doc = only_document(path)
    assert doc.title == "Readout of the Talks"
    assert doc.text == ("Agenda\n\nTopic | Lead\nTrade | MFA\n\nraw *code* stays\n\n"
                        "Costs rose 5* percent; see snake_case_name and bold & more.")


HTML_NOISE = ("Menu", "Header Banner", "Footer", "SHOULD-NOT-APPEAR", "sidebar", "font-family", "trackingCode")


def test_html_main_text_title_and_date():
    doc = only_document(FIXTURES / "release.html")
    assert doc.title == "Readout of the Secretary’s Meeting with the Albanian Foreign Minister"
    assert doc.published == date(2022, 6, 14)
    assert (doc.source, doc.url) == ("Ministry of Foreign Affairs", "https://example.org/readout-albania")
    assert doc.text.startswith("The Secretary met today with Albanian Foreign Minister Olta Xhaçka")
    assert len(doc.text.split("\n\n")) == 3
    assert not [noise for noise in HTML_NOISE if noise in doc.text]
    assert_normalised(doc.text)


def test_html_fallback_extractor_when_trafilatura_finds_nothing(monkeypatch):
    monkeypatch.setattr(markup, "_trafilatura_text", lambda page: "")
    doc = only_document(FIXTURES / "release.html")
    assert doc.text.startswith("The Secretary met today")  # the repeated <h1> headline is dropped
    assert "Western Balkans." in doc.text
    assert not [noise for noise in HTML_NOISE if noise in doc.text]
    assert len(doc.text.split("\n\n")) == 3


# --- pdf, docx ----------------------------------------------------------------------------


def make_pdf(page_contents: list[bytes], title: str | None = None) -> bytes:
    """A minimal valid PDF: one content stream per page, Helvetica text."""
    n_pages = len(page_contents)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n_pages)) + b"] /Count %d >>" % n_pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, content in enumerate(page_contents):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       b" /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    if title:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


def text_page(*lines: str) -> bytes:
    body = b" 0 -16 Td ".join(b"(" + line.encode("latin-1") + b") Tj" for line in lines)
    return b"BT /F1 12 Tf 72 720 Td " + body + b" ET"


def test_pdf_running_headers_footers_and_page_numbers_are_not_text(tmp_path):
    header = "MINISTRY OF FOREIGN AFFAIRS OF NORLAND"
    path = tmp_path / "release-41.pdf"
    path.write_bytes(make_pdf([
        text_page(header, "Velden, 21 March 2025", "Minister Lund met his Ostravian counterpart in Velden.", "Page 1 of 3"),
        text_page(header, "They agreed to build a rail link across the river.", "Page 2 of 3"),
        text_page(header, "The next round of talks will be held in Norvik.", "- 3 -"),
    ]))
    doc = only_document(path)
    assert header not in doc.text and "Page" not in doc.text and "- 3 -" not in doc.text
    assert "rail link" in doc.text and "Norvik" in doc.text and doc.published == date(2025, 3, 21)
    short = tmp_path / "short.pdf"  # two pages: too few to tell a running header, page numbers still go
    short.write_bytes(make_pdf([text_page(header, "Lund met Brenn.", "1"), text_page(header, "They agreed.", "2")]))
    text = only_document(short).text
    assert text.count(header) == 2 and "Lund met Brenn." in text and not any(line.strip() in ("1", "2") for line in text.splitlines())


def test_pdf_text_and_title(tmp_path):
    path = tmp_path / "2022-02-01-readout.pdf"
    path.write_bytes(make_pdf([text_page("The ministers met in Astana.", "They discussed transit."),
                               text_page("A second page on energy.")], title="Readout of the Astana Meeting"))
    doc = only_document(path)
    assert doc.title == "Readout of the Astana Meeting"
    assert doc.published == date(2022, 2, 1)
    assert "The ministers met in Astana." in doc.text and "They discussed transit." in doc.text
    assert doc.text.endswith("\n\nA second page on energy.")  # pages are paragraphs
    assert_normalised(doc.text)


def test_pdf_without_text_layer_and_broken_pdf_are_errors(tmp_path):
    scanned = tmp_path / "scan.pdf"
    scanned.write_bytes(make_pdf([b"0 0 m 200 200 l S"]))  # a drawn line, no text
    assert only_error(scanned).problem == "no extractable text (scanned PDF?)"
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    error = only_error(broken)
    assert error.path == str(broken) and "PDF" in error.problem


def test_docx_paragraphs_tables_and_heading_title(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Joint Communiqué of Kazakhstan and Albania", level=1)
    document.add_paragraph("The parties agreed to establish a Business Council.")
    document.add_paragraph("   ")
    document.add_paragraph("They will meet again in Tirana.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Trade"
    table.rows[0].cells[1].text = "USD 10 million"
    path = tmp_path / "communique.docx"
    document.save(path)
    doc = only_document(path)
    assert doc.title == "Joint Communiqué of Kazakhstan and Albania"
    assert doc.text == ("The parties agreed to establish a Business Council.\n\nThey will meet again in Tirana."
                        "\n\nTrade | USD 10 million")

    document.core_properties.title = "Communiqué (properties title)"
    document.save(path)
    doc = only_document(path)
    assert doc.title == "Communiqué (properties title)"
    assert doc.text.startswith("Joint Communiqué of Kazakhstan and Albania\n\n")  # heading stays as text


def test_docx_that_is_not_a_docx(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(b"PK\x03\x04 not a real zip archive at all")
    assert "not a readable .docx file" in only_error(path).problem


# --- json, jsonl, jsonl.gz ----------------------------------------------------------------


def test_json_records_with_aliases_and_record_errors():
    result = read_file(FIXTURES / "releases.json")
    assert [str(e) for e in result.errors] == [
        f"{FIXTURES / 'releases.json'}: record 3: record has no text (looked for text, body, content, full_text, article)",
        f"{FIXTURES / 'releases.json'}: record 4: expected a JSON object, got str",
    ]
    first, second = result.documents
    assert first.title == "Ministers discuss transit corridor"
    assert first.published == date(2023, 3, 14)  # RFC 2822 pubDate
    assert (first.url, first.source) == ("https://example.org/transit", "Ministry of Transport")
    assert first.text == "The ministers discussed the Middle Corridor.\n\nThey agreed to form a working group."
    assert first.doc_id == "rec:" + hashlib.sha1(b"mfa-2023-001").hexdigest()[:16]
    assert first.metadata["tags"] == ["transit"]
    # no source field: the publisher is known from the URL; the author stays metadata
    assert second.source == "U.S. Department of State"
    assert second.metadata["author"] == "Ned Price, Department Spokesperson"


def test_a_json_list_of_strings_is_a_list_of_texts(tmp_path):
    """Snippet collections often come as bare strings; each is a release titled by its opening."""
    path = tmp_path / "snippets.json"
    snippets = ["Lund won the Velden marathon on Sunday.", "Norland's budget rose by 4 percent.", ""]
    path.write_text(json.dumps({"items": snippets}), encoding="utf-8")
    result = read_file(path)
    assert [d.text for d in result.documents] == snippets[:2]
    assert result.documents[0].title.startswith("Lund won the Velden marathon")
    assert [e.problem.split(" (")[0] for e in result.errors] == ["record 3: record has no text"]  # the empty one
    path.write_text(json.dumps(snippets[:2]), encoding="utf-8")
    assert len(read_file(path).documents) == 2


def test_json_field_map_override(tmp_path):
    path = tmp_path / "custom.json"
    path.write_text(json.dumps([{"ref": "A-1", "heading": "Custom", "when": "2020-01-02", "article_text": "Body text.",
                                 "agency": "Foreign Office", "speaker": "X"}]), encoding="utf-8")
    doc = only_document(path, field_map={"id": "ref", "title": ["heading"], "published": "when", "text": "article_text",
                                         "source": "speaker"})
    assert (doc.title, doc.published, doc.text, doc.source) == ("Custom", date(2020, 1, 2), "Body text.", "X")
    assert doc.doc_id == "rec:" + hashlib.sha1(b"A-1").hexdigest()[:16]
    assert "unknown field 'body'" in only_error_with(path, field_map={"body": "x"}).problem


def only_error_with(path: Path, **kwargs) -> ReadError:
    result = read_file(path, **kwargs)
    assert result.documents == [] and len(result.errors) == 1
    return result.errors[0]


def test_jsonl_bad_lines_are_errors_with_line_numbers_and_the_rest_is_read():
    path = FIXTURES / "releases.jsonl"
    result = read_file(path)
    assert [(e.line, e.problem.split(":")[0]) for e in result.errors] == [
        (2, "malformed JSON"), (3, "record has no text (looked for text, body, content, full_text, article)"),
        (6, "duplicate record 'https")]
    assert str(result.errors[0]).startswith(f"{path}, line 2: malformed JSON")
    first, second = result.documents
    assert first.source == second.source == "U.S. Department of State"
    assert first.metadata["author"] == "Office of the Spokesperson"
    assert first.metadata["categories"] == ["Albania", "Europe"]
    assert first.published == date(2021, 6, 1)
    assert first.path == str(path)
    assert [d.doc_id for d in read_file(path).documents] == [first.doc_id, second.doc_id]  # stable


def test_jsonl_gz_reads_like_jsonl(tmp_path):
    packed = tmp_path / "releases.jsonl.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "releases.jsonl").read_bytes()))
    plain = read_file(FIXTURES / "releases.jsonl")
    result = read_file(packed)
    assert [d.text for d in result.documents] == [d.text for d in plain.documents]
    assert [e.line for e in result.errors] == [2, 3, 6]
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 definitely not deflate data")
    assert "not a valid gzip file" in only_error(broken).problem


def test_state_department_archive_out_of_the_box():
    started = time.perf_counter()
    result = read_file(ARCHIVE)
    seconds = time.perf_counter() - started
    assert result.errors == []
    assert len(result.documents) == 2031
    assert len({d.doc_id for d in result.documents}) == 2031
    assert {d.source for d in result.documents} == {"U.S. Department of State"}
    assert all(isinstance(d.published, date) and d.title and d.text and d.url for d in result.documents)
    assert min(d.published for d in result.documents) == date(2021, 5, 20)
    assert max(d.published for d in result.documents) == date(2022, 8, 3)
    first = result.documents[0]
    assert first.metadata["author"].startswith("Antony J. Blinken, Secretary of State")
    assert "categories" in first.metadata
    assert sum(d.language == "en" for d in result.documents) == 2031
    assert seconds < 30, seconds  # about 2 s on an idle core


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("empty.txt", "empty file"),
        ("blank.md", "empty file"),
        ("binary.txt", "binary file (contains NUL bytes), not text"),
    ],
)
def test_bad_files_give_one_clear_error(name, problem):
    error = only_error(FIXTURES / name)
    assert error.problem == problem
    assert str(error) == f"{FIXTURES / name}: {problem}"


def test_legacy_encodings_are_detected_and_noise_is_refused(tmp_path):
    doc = only_document(FIXTURES / "cp1251-russian.txt")  # Windows-1251, as Russian archives still are
    assert doc.metadata["encoding"] == "cp1251" and doc.language == "ru"
    import random

    noise = tmp_path / "noise.txt"
    rng = random.Random(7)
    noise.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4000)))
    assert only_error(noise).problem == "not valid UTF-8 text, and no other text encoding fits"


def test_binary_content_under_a_text_suffix_and_unsupported_or_missing_files(tmp_path):
    for suffix in (".md", ".html", ".json", ".jsonl"):
        path = tmp_path / f"image{suffix}"
        path.write_bytes((FIXTURES / "binary.txt").read_bytes())
        assert "binary file" in only_error(path).problem
    odd = tmp_path / "slides.pptx"
    odd.write_bytes(_zip_of({"ppt/presentation.xml": b"<p:presentation/>"}))
    assert only_error(odd).problem.startswith("unsupported file type '.pptx', and its content is not a format it reads; "
                                              "supported: ")
    style = tmp_path / "style.css"  # text, but named as what it is: not a release
    style.write_text("body { color: #333; }\n", encoding="utf-8")
    assert only_error(style).problem.startswith("unsupported file type '.css': its content is plain text")
    script = tmp_path / "make_pages.py"  # writes pages: markup inside, but not a page
    script.write_text('PAGE = "<html><head><title>{title}</title></head><body>{body}</body></html>"\n')
    assert only_error(script).problem.startswith("unsupported file type '.py': its content is plain text")
    saved = tmp_path / "talks.htmlx"  # an unknown suffix whose content opens as a web page: read as one
    saved.write_text("<!DOCTYPE html><html><head><title>Velden talks</title></head><body><p>Lund met Saar in Velden."
                     "</p></body></html>")
    assert only_document(saved).title == "Velden talks"
    assert "cannot read file" in only_error(tmp_path / "missing.txt").problem
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert only_error(folder).problem == "is a directory, not a file"
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"releases": [', encoding="utf-8")
    assert only_error(bad_json).problem.startswith("malformed JSON: ")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("nothing.json", "[]", "no records found (an empty list)"),
        ("nothing-inside.json", '{"releases": []}', "no records found (an empty list)"),
        ("settings.json", '{"theme": "dark"}', 'no records found (expected a list of objects or an object like {"releases": [...]})'),
        ("blank-lines.jsonl", "\n\n  \n", "empty file"),
        ("header-only.txt", " date 2025-03-21 Images | Kazakh MFA\n\n", "no text found"),
        ("chrome-only.html", "<html><head><title>T</title><script>x()</script></head><body><nav>Home</nav></body></html>",
         "no text found"),
    ],
)
def test_files_without_any_text_are_errors(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert only_error(path).problem == problem


def test_supported_suffixes_and_stable_file_ids(tmp_path, monkeypatch):
    assert {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".json", ".jsonl", ".jsonl.gz"} <= SUPPORTED_SUFFIXES
    monkeypatch.chdir(FIXTURES)
    relative = only_document(Path("headline.md"))
    absolute = only_document(FIXTURES / "headline.md")
    assert relative.doc_id == absolute.doc_id and relative.doc_id.startswith("file:")
    assert relative.path == "headline.md"


def test_read_error_str_names_file_and_line():
    assert str(ReadError("a/b.jsonl", "malformed JSON", 7)) == "a/b.jsonl, line 7: malformed JSON"
    assert str(ReadError("a/b.txt", "empty file")) == "a/b.txt: empty file"


# --- limits -------------------------------------------------------------------------------


def test_limits_refuse_what_is_too_big_and_keep_the_rest_of_an_archive(tmp_path):
    from rag.ingest.readers import ReadLimits

    limits = ReadLimits(max_file_bytes=1 << 20, max_unpacked_bytes=2048, max_release_chars=1000)
    archive = tmp_path / "releases.jsonl"
    archive.write_text(json.dumps({"title": "Short", "text": "A short release. " * 10}) + "\n"
                       + json.dumps({"title": "Long", "text": "A long release. " * 200}) + "\n")
    result = read_file(archive, limits=limits)
    assert [d.title for d in result.documents] == ["Short"]
    assert [e.problem for e in result.errors] == [
        "release 'Long' has 3,199 characters, over the 1,000 one release may have; not stored"
    ]
    packed = tmp_path / "releases.jsonl.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes()))
    assert "unpacks to more than" in read_file(packed, limits=limits).errors[0].problem
    text = tmp_path / "big.txt"
    text.write_text("word " * 2000)  # 10,000 bytes: over 8 bytes per allowed character
    assert read_file(text, limits=limits).errors[0].problem.startswith("0.0 MB, over the 0.0 MB a .txt file")


def test_ingest_limits_come_from_the_settings(tmp_path):
    from rag.settings import Settings

    limits = Settings(data_dir=tmp_path, ingest={"max_release_chars": 5000, "max_unpacked_mb": 3}).ingest.read_limits()
    assert (limits.max_release_chars, limits.max_unpacked_bytes) == (5000, 3 << 20)


def test_csv_export_rows_are_releases_with_any_case_headers_and_bad_rows_are_errors(tmp_path):
    path = tmp_path / "norland.csv"
    path.write_text(
        'Title;PubDate;Body;Link\n'
        'Norland and Ostravia sign a grain accord;2024-05-02;"Norland and Ostravia signed a grain accord.\n\n'
        'The accord sets quotas for 2025.";https://mfa.norland.example/news/10\n'
        'Nothing to say;2024-05-03;;https://mfa.norland.example/news/11\n', encoding="utf-8")
    result = read_file(path)
    [doc] = result.documents
    assert (doc.title, doc.published, doc.url) == ("Norland and Ostravia sign a grain accord", date(2024, 5, 2),
                                                   "https://mfa.norland.example/news/10")
    assert doc.text == "Norland and Ostravia signed a grain accord.\n\nThe accord sets quotas for 2025."
    assert [str(e) for e in result.errors] == [f"{path}: row 3: record has no text (looked for text, body, content, full_text, article)"]
    tsv = tmp_path / "norland.tsv"
    tsv.write_text("headline\tdate\ttext\nLund in Velden\t14 May 2024\tMinister Lund visited Velden.\n", encoding="utf-8")
    assert only_document(tsv).published == date(2024, 5, 14)
    no_text = tmp_path / "names.csv"
    no_text.write_text("name,age\nLund,50\n", encoding="utf-8")
    assert only_error(no_text).problem.startswith("no text column")


BODY = ("Minister Lund met his Ostravian counterpart in Velden on Thursday. The sides discussed grain exports "
        "and a new rail link, and agreed to meet again in the autumn to sign the accord on river shipping.")


@pytest.mark.parametrize("shape", [
    # a CMS's REST export: values wrapped in {"rendered": ...}, the body as HTML, an edit date beside
    [{"id": 5, "date": "2024-05-02T10:00:00", "modified": "2024-06-30T09:00:00", "link": "https://mfa.norland.example/n/5",
      "title": {"rendered": "Lund in Velden"}, "content": {"rendered": f"<p>{BODY}</p>", "protected": False},
      "excerpt": {"rendered": "<p>Lund visits.</p>"}}],
    # JSON:API: the fields under "attributes", the body as {"value": html, "format": ...}
    {"data": [{"id": "n5", "type": "node--press_release", "attributes": {
        "title": "Lund in Velden", "published_at": "2024-05-02T10:00:00Z",
        "body": {"value": f"<div><p>{BODY}</p></div>", "format": "full_html"}},
        "relationships": {"category": {"data": {"type": "term", "id": "7", "title": "Press"}}}}]},
    # a search engine's answer: records under hits.hits[]._source, names of the engine's own
    {"took": 3, "hits": {"total": 1, "hits": [{"_id": "n5", "_source": {
        "headline": "Lund in Velden", "publishDate": "2024-05-02", "updatedDate": "2024-07-01",
        "bodyText": BODY, "category": {"title": "Press releases"}}}]}},
    # a GraphQL answer; Unix time in milliseconds; a body under a name nobody lists
    {"data": {"releases": {"edges": [{"node": {"title": "Lund in Velden", "issuedAt": 1714644000000,
                                               "zz_column_7": BODY}}]}}},
    # a database dump: a compact date, the body in "description"
    [{"heading": "Lund in Velden", "pub_date_int": 20240502, "description": BODY, "lang": "en"}],
    # a scraper's dump: when it fetched the page is no publication date
    [{"crawl_date": "2026-01-05", "scraped_at": "2026-01-05T08:00:00", "headline": "Lund in Velden",
      "date_published": "2024-05-02", "article_body": BODY}],
], ids=["cms-rest", "json-api", "search-hits", "graphql", "db-dump", "scraper"])
def test_archives_shaped_by_other_systems_are_read_by_what_their_fields_hold(tmp_path, shape):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(shape), encoding="utf-8")
    doc = only_document(path)
    assert (doc.title, doc.published, doc.text) == ("Lund in Velden", date(2024, 5, 2), BODY)


def test_slash_dates_are_read_in_the_order_the_archive_shows(tmp_path):
    """07/03/2025 alone reads month first; beside 25/03/2025 in the same archive it is the 7th of March."""
    path = tmp_path / "export.csv"
    path.write_text("title,date,body\nA,07/03/2025,Lund met Saar.\nB,25/03/2025,Norland opened an embassy.\n"
                    "C,02/04/2025,Ostravia signed.\n", encoding="utf-8")
    assert [d.published for d in read_file(path).documents] == [date(2025, 3, 7), date(2025, 3, 25), date(2025, 4, 2)]
    path.write_text("title,date,body\nA,07/03/2025,Lund met Saar.\nB,03/25/2025,Norland opened an embassy.\n",
                    encoding="utf-8")
    assert [d.published for d in read_file(path).documents] == [date(2025, 7, 3), date(2025, 3, 25)]


def test_a_release_with_no_other_date_takes_the_one_its_title_states(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"title": "21.03.2025 | Minister Lund meets Minister Saar", "text": BODY},
                                {"title": "Press release of 4 May 2024: an embassy opens", "text": BODY + " Again."},
                                {"title": "Lund in Velden", "text": BODY + " Once more."}]), encoding="utf-8")
    assert [d.published for d in read_file(path).documents] == [date(2025, 3, 21), date(2024, 5, 4), None]


def test_a_lead_kept_apart_from_the_body_opens_the_text_unless_the_body_holds_it(tmp_path):
    """A CMS's standfirst is often the release's key sentence; an excerpt cut from the body is not repeated."""
    path = tmp_path / "export.json"
    path.write_text(json.dumps([
        {"title": "Lund in Velden", "lead": "Minister Lund and Minister Saar agreed to open a grain corridor.", "body": BODY},
        {"title": "Lund in Velden", "url": "https://x.example/2", "teaser": BODY.split(".")[0] + "...", "body": BODY},
        {"title": "Lund in Velden", "url": "https://x.example/3", "summary": "Grain talks", "body": BODY},
    ]), encoding="utf-8")
    first, second, third = read_file(path).documents
    assert first.text == "Minister Lund and Minister Saar agreed to open a grain corridor.\n\n" + BODY
    assert "lead" not in first.metadata
    assert second.text == third.text == BODY  # the body's own start; two words are no lead


def test_a_release_with_no_other_date_takes_the_one_its_link_states(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([
        {"title": "Lund in Velden", "url": "https://mfa.norland.example/press/2025/03/21/lund-in-velden/", "text": BODY},
        {"title": "Embassy", "url": "https://mfa.norland.example/news/2024-05-02-embassy-opens", "text": BODY + " Again."},
        {"title": "Archive", "url": "https://mfa.norland.example/archive/2024/05/?on=2024-01-01", "text": BODY + " More."},
    ]), encoding="utf-8")
    assert [d.published for d in read_file(path).documents] == [date(2025, 3, 21), date(2024, 5, 2), None]


def test_a_copy_date_alone_leaves_a_record_undated(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"headline": "Lund in Velden", "crawled_at": "2026-01-05", "fetch_date": "2026-01-05",
                                 "retrieved": "2026-01-05", "article_body": BODY}]), encoding="utf-8")
    assert only_document(path).published is None


def test_a_field_map_is_taken_as_given_and_short_fields_are_no_body(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"heading": "Lund in Velden", "memo": "Lund visits Velden.", "notes": BODY}]))
    assert only_document(path).text == BODY  # the longest field that reads like prose
    assert read_file(path, field_map={"text": "memo"}).documents[0].text == "Lund visits Velden."
    path.write_text(json.dumps([{"heading": "Lund in Velden", "memo": "Lund visits Velden."}]))
    assert "record has no text" in only_error(path).problem  # a short note is not a release
    # a guessed name must hold what the field holds: "content_type" is no body, "image_url" no link
    path.write_text(json.dumps([{"title": "Lund in Velden", "content_type": "press_release",
                                 "image_url": "https://mfa.norland.example/lund.jpg"}]))
    assert "record has no text" in only_error(path).problem
    path.write_text(json.dumps([{"title": "Lund in Velden", "content_type": "press_release", "body_html": BODY,
                                 "image_url": "https://mfa.norland.example/lund.jpg"}]))
    doc = only_document(path)
    assert doc.text == BODY and doc.url == ""


@pytest.mark.parametrize("name, content", [
    ("dateline.txt", "Lund visits Velden\n\nVELDEN, 21 March 2025 \u2013 Minister Lund met his Ostravian counterpart.\n"),
    ("own-line.txt", "Lund visits Velden\n\n21.03.2025\n\nMinister Lund met his Ostravian counterpart.\n"),
    ("labelled.md", "# Lund visits Velden\n\n*Published: March 21, 2025*\n\nMinister Lund met his Ostravian counterpart.\n"),
    ("place-time.html", "<h1>Lund visits Velden</h1><p>Velden, 21 March 2025 | 14:30</p><p>Minister Lund met his counterpart.</p>"),
    ("russian.txt", "\u041b\u0443\u043d\u0434 \u0432 \u0412\u0435\u043b\u044c\u0434\u0435\u043d\u0435\n\n"
                    "21 \u043c\u0430\u0440\u0442\u0430 2025 \u0433\u043e\u0434\u0430\n\n\u041c\u0438\u043d\u0438\u0441\u0442\u0440 "
                    "\u041b\u0443\u043d\u0434 \u0432\u0441\u0442\u0440\u0435\u0442\u0438\u043b\u0441\u044f.\n"),
])
def test_a_release_without_date_metadata_takes_the_date_its_first_lines_state(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert only_document(path).published == date(2025, 3, 21)


def test_a_date_inside_a_sentence_is_what_the_release_talks_about_not_its_date(tmp_path):
    path = tmp_path / "accord.txt"
    path.write_text("Grain accord\n\nThe accord Norland signed on 21 March 2025 sets export quotas.\n", encoding="utf-8")
    assert only_document(path).published is None
    path.write_text("Title: Grain accord\nDate: 2024-05-02\n\n21.03.2025\n\nThe accord sets export quotas.\n", encoding="utf-8")
    assert only_document(path).published == date(2024, 5, 2)  # metadata first


def make_odt(paragraphs: list[str], heading: str = "", title: str = "") -> bytes:
    """A minimal OpenDocument text: content.xml with a heading and paragraphs, meta.xml with a title."""
    import io
    import zipfile

    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    body = (f'<text:h text:outline-level="1">{heading}</text:h>' if heading else "") + "".join(
        f"<text:p>{p}</text:p>" for p in paragraphs)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}>'
                                        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>")
        if title:
            archive.writestr("meta.xml", '<?xml version="1.0"?><office:document-meta '
                             'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                             f'xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta><dc:title>{title}</dc:title>'
                             "</office:meta></office:document-meta>")
    return out.getvalue()


def test_an_opendocument_text_reads_its_heading_paragraphs_and_spacing(tmp_path):
    path = tmp_path / "release.odt"
    path.write_bytes(make_odt(["Velden, 21 March 2025",
                               'Minister Lund met his counterpart<text:s text:c="2"/>in Velden.<text:line-break/>'
                               "The sides <text:span>discussed</text:span> grain exports."], heading="Lund in Velden"))
    doc = only_document(path)
    assert (doc.title, doc.published) == ("Lund in Velden", date(2025, 3, 21))
    assert doc.text == "Velden, 21 March 2025\n\nMinister Lund met his counterpart in Velden. The sides discussed grain exports."
    path.write_bytes(make_odt(["Norland and Ostravia signed a grain accord."], title="Grain accord"))
    assert only_document(path).title == "Grain accord"
    path.write_bytes(b"PK\x03\x04 not an odt")
    assert "not a readable .odt file" in only_error(path).problem


def test_a_press_service_mail_and_a_mailbox_of_them_are_releases(tmp_path):
    """An .eml: subject, Date header, sender's name, the plain body (quoted-printable decoded). An
    .mbox: each message a release (an HTML-only one as its text; one without a body is an error
    naming it; a body line the mailbox quoted as ">From " is restored)."""
    mail = only_document(FIXTURES / "press-service.eml")
    assert (mail.title, mail.published, mail.source) == (
        "Minister Lund meets Ostravian counterpart in Velden", date(2025, 3, 21), "Press Service of the MFA of Norland")
    assert mail.text == ("Minister Lund met his Ostravian counterpart in Velden on Thursday. The sides discussed "
                         "grain exports and a new rail link.")
    result = read_file(FIXTURES / "press-list.mbox")
    assert [(d.title, d.published) for d in result.documents] == [
        ("Lund in Velden", date(2025, 3, 21)), ("Grain accord signed", date(2025, 3, 22))]
    assert result.documents[0].text.endswith("From the Velden talks, both sides expect a rail link.")
    assert result.documents[1].text == "Norland and Ostravia signed a grain accord."
    assert [str(e) for e in result.errors] == [f"{FIXTURES / 'press-list.mbox'}: message 3: record has no text "
                                               "(looked for text, body, content, full_text, article)"]
    not_mbox = tmp_path / "notes.mbox"
    not_mbox.write_text("Just some notes.\n")
    assert "not an mbox file" in only_error(not_mbox).problem


def test_gzipped_exports_read_like_what_they_hold_and_ndjson_is_json_lines(tmp_path):
    tsv = "headline\tdate\ttext\nLund in Velden\t14 May 2024\tMinister Lund visited Velden, the capital.\n"
    (tmp_path / "norland.tsv.gz").write_bytes(gzip.compress(tsv.encode()))  # a tab, not sniffed: the .tsv under .gz
    doc = only_document(tmp_path / "norland.tsv.gz")
    assert (doc.title, doc.published, doc.text) == ("Lund in Velden", date(2024, 5, 14), "Minister Lund visited Velden, the capital.")
    record = {"title": "Ostravia grain accord", "date": "2024-06-01", "text": "Ostravia and Norland signed a grain accord."}
    (tmp_path / "ostravia.ndjson").write_text(json.dumps(record) + "\n", encoding="utf-8")
    (tmp_path / "ostravia.json.gz").write_bytes(gzip.compress(json.dumps([record]).encode()))
    for name in ("ostravia.ndjson", "ostravia.json.gz"):
        assert only_document(tmp_path / name).title == "Ostravia grain accord"
    feed = '<rss><channel><item><title>Velden talks</title><pubDate>Tue, 04 Jun 2024 10:00:00 GMT</pubDate>' \
           '<description>Norland and Ostravia held talks in Velden.</description></item></channel></rss>'
    (tmp_path / "feed.xml.gz").write_bytes(gzip.compress(feed.encode()))
    assert only_document(tmp_path / "feed.xml.gz").published == date(2024, 6, 4)
    (tmp_path / "empty.csv.gz").write_bytes(gzip.compress(b"  \n"))
    assert only_error(tmp_path / "empty.csv.gz").problem == "empty archive"
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"title,text\n" + b"a" * (3 << 20)))
    [error] = read_file(bomb, limits=ReadLimits(max_unpacked_bytes=1 << 20)).errors
    assert "unpacks to more than 1.0 MB" in error.problem


def test_rss_atom_and_xml_exports_are_read_entry_by_entry_and_entities_are_refused(tmp_path):
    rss = tmp_path / "feed.rss"
    rss.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Norland MFA</title>'
        '<item><title>Minister Lund visits Velden</title><link>https://mfa.norland.example/news/20</link>'
        '<pubDate>Tue, 14 May 2024 10:00:00 +0000</pubDate><description><![CDATA[<p>Minister Lund visited Velden '
        'today.</p><p>She met President Ilves.</p>]]></description></item></channel></rss>', encoding="utf-8")
    doc = only_document(rss)
    assert (doc.title, doc.published, doc.source) == ("Minister Lund visits Velden", date(2024, 5, 14), "Norland MFA")
    assert doc.text == "Minister Lund visited Velden today.\n\nShe met President Ilves."
    atom = tmp_path / "feed.atom"
    atom.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Norland MFA</title>'
        '<entry><id>tag:norland,2024:21</id><title>Grain talks</title><updated>2024-06-01T09:00:00Z</updated>'
        '<content type="html">&lt;p&gt;Norland and Ostravia discussed grain.&lt;/p&gt;</content></entry></feed>',
        encoding="utf-8")
    assert only_document(atom).text == "Norland and Ostravia discussed grain."
    export = tmp_path / "archive.xml"
    export.write_text(
        '<?xml version="1.0"?><archive><meta>x</meta><releases>'
        '<release id="r1"><Headline>Norland opens an embassy</Headline><Date>2024-06-01</Date>'
        '<Content>Norland opened an embassy in Brunnhaven.</Content></release>'
        '<release id="r2"><Headline>Second</Headline><Date>2024-06-02</Date><Content>More news.</Content></release>'
        '</releases></archive>', encoding="utf-8")
    docs = read_file(export).documents
    assert [(d.title, d.published) for d in docs] == [("Norland opens an embassy", date(2024, 6, 1)),
                                                       ("Second", date(2024, 6, 2))]
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    '<l><item><text>&b;</text></item></l>', encoding="utf-8")
    assert "entities" in only_error(bomb).problem
    broken = tmp_path / "broken.xml"
    broken.write_text("<archive><release><text>unclosed</archive>", encoding="utf-8")
    assert only_error(broken).problem.startswith("malformed XML")


# --- xlsx ---------------------------------------------------------------------------------


def make_xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A workbook with the given sheets, rows as lists of cell values (dates become date cells)."""
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_spreadsheet_workbook_is_read_like_a_csv_export(tmp_path):
    """The first sheet whose header names a text column, one release per row; date cells are
    dates, a text date is parsed as in any archive, a row without text is that row's error."""
    path = tmp_path / "releases.xlsx"
    path.write_bytes(make_xlsx({
        "Summary": [["Year", "Count"], [2025, 2]],  # no text column: not the releases
        "Releases": [["Title", "Published", "Body", "Tags"],
                     ["Lund in Velden", date(2025, 3, 7), "Minister Lund met Minister Saar in Velden.", "grain"],
                     ["Embassy opens", "25.03.2025", "Norland opened an embassy in Brunnhaven.", None],
                     ["No body", None, None, None]],
    }))
    result = read_file(path)
    assert [(d.title, d.published, d.text) for d in result.documents] == [
        ("Lund in Velden", date(2025, 3, 7), "Minister Lund met Minister Saar in Velden."),
        ("Embassy opens", date(2025, 3, 25), "Norland opened an embassy in Brunnhaven.")]
    assert result.documents[0].metadata["Tags"] == "grain"
    assert [str(e) for e in result.errors] == [f"{path}: Releases, row 4: record has no text "
                                               "(looked for text, body, content, full_text, article)"]
    path.write_bytes(make_xlsx({"Sheet": [["Year", "Count"], [2025, 2]]}))
    assert "no sheet whose first row names a text column" in only_error(path).problem
    path.write_bytes(b"PK\x03\x04 not a workbook")
    assert "not a readable .xlsx file" in only_error(path).problem


def _zip_of(parts: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


# --- web pages ----------------------------------------------------------------------------


def page_html(title: str, *paragraphs: str, date_meta: str = "", site: str = "Norland MFA") -> bytes:
    meta = f"<meta property='article:published_time' content='{date_meta}'>" if date_meta else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html lang='en'><head><title>{title} | {site}</title>{meta}</head><body>"
            f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article><h1>{title}</h1>{body}</article>"
            f"<footer>Copyright Norland</footer></body></html>").encode()


SITE = "https://mfa.norland.example"
TALKS = page_html("Norland and Ostravia hold talks in Velden",
                  "Foreign Minister Lund received the Foreign Minister of Ostravia in Velden for talks on trade.",
                  "The ministers agreed to open a joint customs post at Brunnhaven next spring.",
                  date_meta="2025-03-21T10:00:00Z")
STATEMENT = page_html("Statement on the Velden conference",
                      "Norland welcomes the conclusions of the Velden conference on river shipping.")


# --- content sniffing ---------------------------------------------------------------------


def test_sniffing_tells_formats_by_their_bytes():
    from rag.ingest.readers import sniff_suffix

    release = "Norland and Ostravia agreed to reopen the Velden ferry line.\n"
    cases = {
        make_pdf([text_page("Velden")]): ".pdf",
        _zip_of({"word/document.xml": b"<w:document/>"}): ".docx",
        _zip_of({"xl/workbook.xml": b"<workbook/>"}): ".xlsx",
        make_odt(["Velden"]): ".odt",
        _zip_of({"ppt/presentation.xml": b"<p/>"}): None,
        gzip.compress(b'{"title": "Velden", "text": "x"}\n{"title": "Lund", "text": "y"}\n'): ".jsonl.gz",
        gzip.compress(b"<rss version='2.0'><channel></channel></rss>"): ".xml.gz",
        gzip.compress(gzip.compress(b"x")): None,
        b"\xef\xbb\xbf  <!-- saved by wget -->\n<!DOCTYPE html><html><body>x</body></html>": ".html",
        b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN"><html>x</html>': ".html",
        b"Warning: session_start() in /var/www/news.php\n<div><head></head><body>x</body>": ".html",
        b'<?xml version="1.0"?><releases><release/></releases>': ".xml",
        b"<feed xmlns='http://www.w3.org/2005/Atom'></feed>": ".xml",
        b' [{"title": "Velden", "body_html": "<html><head></head><body>x</body></html>"}]': ".json",
        b'{"title": "Velden"}\n{"title": "Lund"}\n': ".jsonl",
        b"From: Press Service <press@mfa.example>\nSubject: Velden\nDate: Fri, 21 Mar 2025 10:00:00 +0000\n\nText": ".eml",
        b"From press@mfa.example Fri Mar 21 10:00:00 2025\nFrom: Press <p@mfa.example>\nSubject: Velden\n\nText": ".mbox",
        b"Title: Velden talks\nDate: 2025-03-21\n\n" + release.encode(): ".txt",
        b"[Press release] " + release.encode(): ".txt",
        "Встреча в Вельдене прошла успешно.\n".encode("cp1251"): ".txt",
        b"\x89PNG\r\n\x1a\n" + bytes(100): None,
        bytes(range(256)) * 8: None,
    }
    for data, expected in cases.items():
        assert sniff_suffix(data) == expected, (data[:60], expected)


def test_a_text_release_with_angle_brackets_stays_text_and_a_whole_page_saved_as_txt_is_html(tmp_path):
    text = tmp_path / "tariffs.txt"
    text.write_text("Tariff talks in Velden\n\nTariffs fell to <5% on grain; the <html> tag of the old portal is gone.\n"
                    "Minister Lund: <head of delegation> remarks follow.\n", encoding="utf-8")
    doc = only_document(text)
    assert doc.title == "Tariff talks in Velden" and "<5%" in doc.text and "<html>" in doc.text
    page = tmp_path / "talks.txt"
    page.write_bytes(b"\n  " + TALKS)
    doc = only_document(page)
    assert doc.title == "Norland and Ostravia hold talks in Velden" and doc.published == date(2025, 3, 21)
    assert "<" not in doc.text and "Home" not in doc.text


def test_a_file_whose_suffix_names_another_binary_format_is_read_by_its_content(tmp_path):
    pdf = tmp_path / "communique.html"  # a download saved under the page's name
    pdf.write_bytes(make_pdf([text_page("Joint communique", "The ministers met in Velden.")]))
    assert "ministers met in Velden" in only_document(pdf).text
    odt = tmp_path / "statement.docx"
    odt.write_bytes(make_odt(["Norland welcomes the Brunnhaven accord."], heading="Statement"))
    assert only_document(odt).title == "Statement"
    gzipped = tmp_path / "releases.jsonl"
    gzipped.write_bytes(gzip.compress(b'{"title": "Velden talks", "text": "The ministers met in Velden."}\n'))
    assert only_document(gzipped).title == "Velden talks"
    html = tmp_path / "error-page.pdf"  # a server's HTML error page saved as .pdf is not read as a page
    html.write_bytes(page_html("Not found", "This page does not exist."))
    assert "not a readable PDF" in only_error(html).problem


@pytest.mark.parametrize("name", ["news.php?id=7", "view.aspx", "release.shtml", "page.xhtml", "index.jsp",
                                  "statement", "statement 21.03.2025"])
def test_names_that_do_not_say_their_format_are_read_by_content(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(TALKS)
    doc = only_document(path)
    assert doc.title == "Norland and Ostravia hold talks in Velden" and doc.published == date(2025, 3, 21)
    path.write_bytes(b"Velden talks\n\nForeign Minister Lund met the Ostravian delegation in Velden today.\n")
    assert only_document(path).title == "Velden talks"
    path.write_bytes(b'[{"title": "Velden talks", "text": "Lund met the delegation."}, {"text": "A second release."}]')
    assert len(read_file(path).documents) == 2
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    assert only_error(path).problem.startswith("its content is not a format it reads")


# --- warc ---------------------------------------------------------------------------------

CRAWLED = "2026-01-10T08:00:00Z"


def make_warc(records: list[tuple], gzipped: bool = True) -> bytes:
    """A WARC as crawlers write it: a warcinfo record, then ``records``, each
    ("response", uri, body, content_type[, status[, extra http headers]]), ("request", uri),
    ("revisit", uri) or ("metadata", uri); every record crawled at CRAWLED."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzipped)
    writer.write_record(writer.create_warcinfo_record("crawl.warc", {"software": "Heritrix/3.4", "format": "WARC 1.0"}))
    when = {"WARC-Date": CRAWLED}
    for kind, uri, *rest in records:
        if kind == "response":
            body, content_type = rest[:2]
            status, extra = rest[2] if len(rest) > 2 else "200 OK", rest[3] if len(rest) > 3 else []
            headers = StatusAndHeaders(status, [("Content-Type", content_type), *extra], protocol="HTTP/1.1")
            record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers,
                                               warc_headers_dict=when)
        elif kind == "request":
            headers = StatusAndHeaders(f"GET {uri} HTTP/1.1", [("Host", "mfa.norland.example")], is_http_request=True)
            record = writer.create_warc_record(uri, "request", payload=io.BytesIO(b""), http_headers=headers,
                                               warc_headers_dict=when)
        elif kind == "revisit":
            record = writer.create_revisit_record(uri, "sha1:AAAA", uri, CRAWLED)
        else:
            record = writer.create_warc_record(uri, "metadata", payload=io.BytesIO(b"outlink: /news"),
                                               warc_content_type="application/warc-fields", warc_headers_dict=when)
        writer.write_record(record)
    return out.getvalue()


ACCORD_DRAFT = page_html("Grain accord signed in Brunnhaven", "A draft that the site replaced an hour later.")
ACCORD = page_html("Grain accord signed in Brunnhaven",
                   "Norland and Ostravia signed a grain accord in Brunnhaven setting export quotas for three years.")


def site_warc(gzipped: bool) -> bytes:
    return make_warc([
        ("request", f"{SITE}/en/news/velden-talks"),
        ("response", f"{SITE}/en/news/velden-talks", TALKS, "text/html; charset=utf-8"),
        ("response", f"{SITE}/2024/11/05/grain-accord", ACCORD_DRAFT, "text/html"),
        ("response", f"{SITE}/static/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png"),
        ("response", f"{SITE}/static/site.css", b"body { color: #333 }", "text/css"),
        ("response", f"{SITE}/old-page", b"", "text/html", "301 Moved Permanently", [("Location", f"{SITE}/new")]),
        ("response", f"{SITE}/missing", page_html("Not found", "This page does not exist."), "text/html", "404 Not Found"),
        ("metadata", f"{SITE}/en/news/velden-talks"),
        ("revisit", f"{SITE}/en/news/velden-talks"),
        ("response", f"{SITE}/2024/11/05/grain-accord", ACCORD, "text/html; charset=utf-8"),  # captured again
        ("response", f"{SITE}/en/press/statement", STATEMENT, "application/xhtml+xml"),
    ], gzipped)


@pytest.mark.parametrize("name, gzipped", [("2026-01-10-norland-crawl.warc.gz", True),
                                            ("2026-01-10-norland-crawl.warc", False)])
def test_a_web_archive_gives_each_captured_page_once_read_as_a_saved_page(tmp_path, name, gzipped):
    """Pages from the 200 HTML responses (the last capture of a URL), nothing from requests,
    metadata, revisits, images, stylesheets, redirects or 404s; the crawl date (WARC-Date, and the
    archive's name) is not the publication date: the page's own is, else its link's."""
    path = tmp_path / name
    path.write_bytes(site_warc(gzipped))
    result = read_file(path)
    assert result.errors == [], [str(e) for e in result.errors]
    docs = {d.url: d for d in result.documents}
    assert list(docs) == [f"{SITE}/en/news/velden-talks", f"{SITE}/2024/11/05/grain-accord", f"{SITE}/en/press/statement"]
    talks, accord, statement = docs.values()
    assert talks.title == "Norland and Ostravia hold talks in Velden"
    assert talks.published == date(2025, 3, 21)  # its meta tag
    assert talks.text.startswith("Foreign Minister Lund received") and "joint customs post" in talks.text
    assert "Home" not in talks.text and "Copyright" not in talks.text
    assert accord.published == date(2024, 11, 5)  # from /2024/11/05/ in its link
    assert "export quotas" in accord.text and "draft" not in accord.text  # the last capture
    assert statement.published is None  # neither 2026-01-10 (crawled) nor the archive's name
    assert statement.title == "Statement on the Velden conference"
    for doc in result.documents:
        assert doc.path == str(path) and doc.source == "Norland MFA" and doc.language == "en"
        assert doc.metadata["crawled"] == CRAWLED
        assert_normalised(doc.text)
    assert len({d.doc_id for d in result.documents}) == 3
    assert [d.doc_id for d in read_file(path).documents] == [d.doc_id for d in result.documents]  # stable


def test_a_page_sent_chunked_and_gzipped_is_decoded(tmp_path):
    import gzip

    body = gzip.compress(page_html("Velden ferry line reopens",
                                   "The ferry line between Velden and Brunnhaven reopens on 1 May.").replace(
        b"<head>", b"<head><meta charset='windows-1252'>"))
    chunked = b"".join(b"%x\r\n" % len(part) + part + b"\r\n" for part in (body[:20], body[20:90], body[90:])) + b"0\r\n\r\n"
    latin = page_html("Café in Lund", "The Norland café in Lund opened its doors to the press.").decode().encode("cp1252")
    path = tmp_path / "ferry.warc.gz"
    path.write_bytes(make_warc([
        ("response", f"{SITE}/news/ferry", chunked, "text/html",
         "200 OK", [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]),
        ("response", f"{SITE}/news/cafe", latin, "text/html; charset=windows-1252"),
    ]))
    result = read_file(path)
    assert result.errors == []
    ferry, cafe = result.documents
    assert ferry.title == "Velden ferry line reopens" and ferry.text.startswith("The ferry line between Velden")
    assert cafe.title == "Café in Lund"  # the charset the server declared


def test_a_web_archive_over_its_limits_or_cut_short_keeps_what_it_can(tmp_path):
    small = ReadLimits(max_release_chars=2_000)  # pages up to 16,000 bytes
    big = page_html("A long speech", *["The minister spoke about river shipping in Velden at length."] * 400)
    path = tmp_path / "big.warc"
    path.write_bytes(make_warc([("response", f"{SITE}/speech", big, "text/html"),
                                ("response", f"{SITE}/statement", STATEMENT, "text/html")], gzipped=False))
    result = read_file(path, limits=small)
    assert [d.url for d in result.documents] == [f"{SITE}/statement"]
    assert [str(e) for e in result.errors] == [f"{path}: {SITE}/speech: its body is over the 0.0 MB a page may have; "
                                               "skipped"]
    # a gzipped archive unpacking to more than the limit: the pages before it are kept
    bomb = tmp_path / "bomb.warc.gz"
    bomb.write_bytes(make_warc([("response", f"{SITE}/statement", STATEMENT, "text/html"),
                                ("response", f"{SITE}/zeros", b"\0" * (3 << 20), "application/octet-stream")]))
    result = read_file(bomb, limits=ReadLimits(max_unpacked_bytes=1 << 20))
    assert [d.url for d in result.documents] == [f"{SITE}/statement"]
    assert "unpacks to more than 1.0 MB; refused" in result.errors[0].problem and str(bomb) in str(result.errors[0])
    # cut short inside the last capture
    whole = make_warc([("response", f"{SITE}/statement", STATEMENT, "text/html"),
                       ("response", f"{SITE}/talks", TALKS, "text/html")], gzipped=False)
    cut = tmp_path / "cut.warc"
    cut.write_bytes(whole[: len(whole) - 300])
    result = read_file(cut)
    assert [d.url for d in result.documents] == [f"{SITE}/statement"]
    assert [e.problem for e in result.errors] == [f"{SITE}/talks: the archive ends inside this capture (truncated); "
                                                  "skipped"]
    cut.write_bytes(gzip.compress(whole)[:-200])  # one gzip member for the whole archive, cut short
    result = read_file(cut)
    assert "cut short" in " ".join(e.problem for e in result.errors)


def test_a_whole_archive_gzipped_at_once_and_what_is_no_warc(tmp_path):
    path = tmp_path / "site.warc.gz"
    path.write_bytes(gzip.compress(site_warc(gzipped=False)))  # `gzip site.warc`: one member, not one per record
    assert len(read_file(path).documents) == 3
    path.write_bytes(gzip.compress(b"Not an archive at all, only a sentence about Velden.\n"))
    assert only_error(path).problem.startswith("not a readable WARC archive (")
    path.write_bytes(make_warc([("response", f"{SITE}/logo.png", b"\x89PNG", "image/png")]))
    assert only_error(path).problem == ("no web pages in the archive (2 records, none a 200 response holding HTML "
                                        "or PDF)")


def test_a_pdf_captured_in_a_web_archive_is_read_with_its_link(tmp_path):
    pdf = make_pdf([text_page("Joint communique", "Norland and Ostravia agree on a river shipping treaty.")])
    path = tmp_path / "docs.warc.gz"
    path.write_bytes(make_warc([("response", f"{SITE}/files/2025-03-21-communique.pdf", pdf, "application/pdf")]))
    doc = only_document(path)
    assert doc.url == f"{SITE}/files/2025-03-21-communique.pdf" and doc.path == str(path)
    assert doc.published == date(2025, 3, 21) and "river shipping treaty" in doc.text


def test_web_archives_are_found_by_their_content(tmp_path):
    from rag.ingest.readers import sniff_suffix

    assert sniff_suffix(make_warc([])) == ".warc.gz" and sniff_suffix(make_warc([], gzipped=False)) == ".warc"
    for name in ("site.gz", "crawl-20260110", "site.warc"):  # a gzipped archive named .warc is read all the same
        path = tmp_path / name
        path.write_bytes(site_warc(gzipped=True))
        assert len(read_file(path).documents) == 3, name
