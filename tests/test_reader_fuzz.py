"""Hostile and random input for every reader: each file ingests or fails with an error naming it,
within a time and memory bound, and an ingest run holding such files goes on with the rest.

Two parts. Crafted inputs (bombs, truncations, renamed formats, deep nesting, a 50 MB line) each
run in a fresh process so their peak memory is measured. Then hypothesis generates inputs per
format (random bytes, mutations of a valid file, random JSON values, random nested markup);
RAG_FUZZ_EXAMPLES sets how many per format (CI: the default; more for a long local run). The
number of inputs tried goes to tests/artifacts/reader-fuzz.json.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from rag.ingest.readers import SUPPORTED_SUFFIXES, read_file
from tests.test_readers import make_odt, make_pdf, make_warc, make_xlsx, page_html, text_page

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "tests" / "artifacts" / "reader-fuzz.json"
EXAMPLES = int(os.environ.get("RAG_FUZZ_EXAMPLES", "300"))
MAX_SECONDS_PER_INPUT = 20.0  # crafted inputs, on 2 slow cores
MAX_PEAK_MB = 800  # a reader process, whatever the input (the interpreter alone is ~20 MB)
MAX_SECONDS_RANDOM = 5.0  # each generated input

RELEASE = (
    "Astana, 21 March 2025. Deputy Foreign Minister Roman Vassilenko held political consultations "
    "with Albania. The sides agreed to expand trade and to open direct flights next year.\n\n"
    "Albania proposed a joint business forum in Tirana."
)


# --- crafted hostile inputs ---------------------------------------------------------------


def _docx_bytes(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([text_page("Secret communique")]))))
    writer.encrypt("a password")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _flate_bomb_pdf() -> bytes:
    """A page whose content stream inflates to 400 MB of zeros."""
    import zlib

    packed = zlib.compress(b"\0" * (400 << 20), 9)
    pdf = make_pdf([b"PLACEHOLDER"])
    return pdf.replace(b"<< /Length 11 >>\nstream\nPLACEHOLDER", b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed)


def _warc_record(headers: bytes, block: bytes) -> bytes:
    return b"WARC/1.0\r\n" + headers + b"\r\n" + block + b"\r\n\r\n"


def _http_page(body: bytes, *headers: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def _warc_response(uri: bytes, block: bytes, length: int | None = None) -> bytes:
    return _warc_record(b"WARC-Type: response\r\nWARC-Target-URI: %s\r\nContent-Type: application/http; msgtype=response"
                        b"\r\nContent-Length: %d\r\n" % (uri, len(block) if length is None else length), block)


def _warc_bombs() -> dict[str, tuple[bytes, str]]:
    """Web archives that are cut short, lie about their lengths, or unpack without end."""
    good = _warc_response(b"https://mfa.example/talks", _http_page(f"<p>{RELEASE}</p>".encode()))
    whole = make_warc([("response", "https://mfa.example/talks", page_html("Talks", RELEASE), "text/html")] * 3)
    zeros = gzip.compress(b"\0" * (300 << 20), 9)
    chunk = b"%x\r\n" % len(zeros) + zeros + b"\r\n0\r\n\r\n"
    return {
        "truncated.warc.gz": (whole[: len(whole) * 2 // 3], "any"),
        "truncated-plain.warc": (good + good[:-400], "any"),
        "huge-length.warc": (_warc_response(b"https://mfa.example/a", _http_page(b"<p>x</p>"), 10**15) + good, "any"),
        "negative-length.warc": (_warc_response(b"https://mfa.example/a", _http_page(b"<p>x</p>"), -5) + good, "any"),
        # every record of a 300 MB archive zeros: its gzip is 300 KB
        "gzip-bomb.warc.gz": (gzip.compress(good + b"\0" * (300 << 20), 9), "any"),
        "bomb-in-one-record.warc.gz": (gzip.compress(_warc_response(b"https://mfa.example/z", _http_page(b"\0" * (300 << 20))), 9),
                                       "error"),
        "content-encoding-bomb.warc": (_warc_response(b"https://mfa.example/z", _http_page(zeros, b"Content-Encoding: gzip")),
                                       "error"),
        "chunked-gzip-bomb.warc": (_warc_response(b"https://mfa.example/z", _http_page(
            chunk, b"Transfer-Encoding: chunked", b"Content-Encoding: gzip")), "error"),
        "long-header-line.warc.gz": (gzip.compress(b"WARC/1.0\r\nWARC-Type: response\r\nX: " + b"a" * (200 << 20)), "error"),
        "empty-records.warc.gz": (gzip.compress(_warc_record(b"WARC-Type: resource\r\nContent-Length: 0\r\n", b"")
                                                * 1_000_000, 9), "error"),
        "warc-in-gzip-in-gzip.warc.gz": (gzip.compress(whole), "error"),
        "not-a-warc.warc": (b"WARC/1.0 but then nothing that parses\r\n\x00\x01" * 1000, "error"),
    }


def hostile_inputs(folder: Path) -> dict[str, str]:
    """Write the crafted inputs; name -> what must come of it ("error", or "any": read or error)."""
    valid_pdf = make_pdf([text_page("Joint statement", "The ministers met in Astana.")])
    files: dict[str, tuple[bytes, str]] = {
        "truncated.pdf": (valid_pdf[: len(valid_pdf) // 2], "any"),
        "encrypted.pdf": (_encrypted_pdf(), "error"),
        "flate-bomb.pdf": (_flate_bomb_pdf(), "any"),
        "pdf-renamed.docx": (valid_pdf, "any"),  # read by its content: a PDF
        "docx-renamed.pdf": (_docx_bytes({"word/document.xml": b"<w:document/>"}), "error"),
        "zip-bomb.docx": (_docx_bytes({"word/document.xml": b"<" * (300 << 20)}), "error"),
        "zip-in-zip.docx": (_docx_bytes({"inner.zip": _docx_bytes({"word/document.xml": b"x"})}), "error"),
        "zip-bomb.odt": (_docx_bytes({"content.xml": b"<" * (300 << 20)}), "error"),
        "entity-bomb.odt": (_docx_bytes({"content.xml": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                                         + b"".join(b'<!ENTITY a%d "&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;">'
                                                    % ((i,) + (b"" if i == 1 else b"%d" % (i - 1),) * 10)
                                                    for i in range(1, 9))
                                         + b']><d>&a8;</d>'}), "error"),
        "zip-bomb.xlsx": (_docx_bytes({"xl/workbook.xml": b"<" * (300 << 20)}), "error"),
        "odt-renamed.xlsx": (make_odt([RELEASE]), "any"),  # read by its content: an .odt
        "gzip-bomb.jsonl.gz": (gzip.compress(b'{"text": "aaaa aaaa"}\n' * (14 << 20), 9), "error"),
        "gzip-in-gzip.jsonl.gz": (gzip.compress(gzip.compress(json.dumps({"text": RELEASE}).encode())), "error"),
        "truncated.jsonl.gz": (gzip.compress(json.dumps({"text": RELEASE}).encode())[:-12], "error"),
        "deep.html": (b"<html><body>" + b"<div>" * 200_000 + b"text" + b"</div>" * 200_000 + b"</body></html>", "any"),
        "unclosed.html": (b"<html><body><p>" + b"<b><i><table><tr><td>" * 50_000, "any"),
        "deep.json": (b"[" * 100_000 + b"]" * 100_000, "error"),
        "deep-record.json": (b'{"text": "x", "title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "any"),
        "one-line.txt": (b"word " * 10_000_000, "error"),  # 50 MB without a newline
        "one-record.jsonl": (json.dumps({"text": "word " * 10_000_000}).encode(), "error"),
        "invalid-utf8.txt": (b"\xff\xfe\xfa" * 1000 + b"\x80\xc3(" * 500, "any"),
        "invalid-utf8.jsonl": (b'{"text": "\xff\xfe caf\xe9"}\n' * 10, "error"),
        "wrong-types.json": (json.dumps([
            {"text": 5, "title": ["a"], "date": {"x": 1}}, {"text": ["a", {"b": None}]}, None, 3.5,
            {"text": RELEASE, "date": 10**30, "source": {"nested": [1, 2]}, "url": 7},
        ]).encode(), "any"),
        "nul-bytes.txt": (b"\0" * 100_000, "any"),
        "nul-bytes.md": (b"# Title\n\n" + b"\0" * 1000, "any"),
        "binary.html": (os.urandom(200_000), "any"),
        "only-markup.html": (b"<html><head><script>alert(1)</script></head><body><nav>menu</nav></body></html>", "error"),
        "entity-bomb.xml": (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "' + b"a" * 100 + b'">'
                            + b"".join(b'<!ENTITY e%d "%s">' % (i + 1, (b"&e%d;" % i if i else b"&a;") * 10) for i in range(9))
                            + b']><l><r><text>&e9;</text></r></l>', "error"),
        "deep.xml": (b"<a>" * 100_000 + b"x" + b"</a>" * 100_000, "any"),
        "huge-cell.csv": (b'title,text\nA,"' + b"word " * 4_000_000 + b'"\n', "any"),
        # no suffix, or a web server's: read by what the bytes are
        "page-without-suffix": (b"\xef\xbb\xbf<!-- mirrored -->" + b"<div>" * 200_000, "any"),
        "news.php?id=7": (gzip.compress(b'{"text": "aaaa aaaa"}\n' * (14 << 20), 9), "error"),  # a gzip bomb sniffed
        "deep-sniffed": (b"[" * 100_000 + b"]" * 100_000, "any"),
        "binary-without-suffix": (os.urandom(300_000), "error"),
        **_warc_bombs(),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: expect for name, (_, expect) in files.items()}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, hostile_inputs(folder)


def test_every_crafted_input_is_read_or_refused_within_bounds(hostile):
    folder, expected = hostile
    outcomes = {}
    for name, expect in expected.items():
        path = folder / name
        done = subprocess.run(
            [sys.executable, "-m", "tests.reader_probe", str(path)], cwd=REPO, capture_output=True, text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{name}: the reader process died: {done.stderr[-2000:]}"
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        outcomes[name] = outcome
        assert outcome["seconds"] < MAX_SECONDS_PER_INPUT, (name, outcome)
        assert outcome["peak_mb"] < MAX_PEAK_MB, (name, outcome)
        assert all(error.startswith(str(path)) for error in outcome["errors"]), (name, outcome["errors"])
        assert outcome["documents"] or outcome["errors"], f"{name}: neither read nor refused"
        if expect == "error":
            assert outcome["documents"] == 0 and outcome["errors"], (name, outcome)
    _record("crafted", len(outcomes), max(o["seconds"] for o in outcomes.values()),
            max(o["peak_mb"] for o in outcomes.values()))


def test_an_ingest_run_over_hostile_files_stores_the_good_release_and_names_each_bad_file(hostile, tmp_path):
    folder, expected = hostile
    (folder / "2025-03-21-good-release.txt").write_text(RELEASE)
    data_dir = tmp_path / "data"
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(folder)], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # some files failed; the run still finished
    for name, expect in expected.items():
        if expect == "error":
            assert name in output, f"{name} is not named in the report:\n{output[-3000:]}"
    asked = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", "--local", "What did Albania propose?"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "business forum" in asked.stdout, asked.stdout


# --- generated inputs ---------------------------------------------------------------------

SEEDS: dict[str, bytes] = {
    ".txt": ("Title: Consultations\nDate: 2025-03-21\n\n" + RELEASE).encode(),
    ".md": ("---\ntitle: Consultations\ndate: 2025-03-21\n---\n# Consultations\n\n" + RELEASE).encode(),
    ".markdown": ("# Consultations\n\n*" + RELEASE + "*").encode(),
    ".html": (f"<html lang='en'><head><title>Consultations</title><meta name='date' content='2025-03-21'></head>"
              f"<body><nav>Home</nav><article><h1>Consultations</h1><p>{RELEASE}</p></article></body></html>").encode(),
    ".htm": f"<p>{RELEASE}</p>".encode(),
    ".json": json.dumps([{"title": "Consultations", "text": RELEASE, "date": "2025-03-21"}]).encode(),
    ".jsonl": (json.dumps({"title": "A", "text": RELEASE}) + "\n" + json.dumps({"text": RELEASE[:90]})).encode(),
    ".jsonl.gz": gzip.compress(json.dumps({"title": "A", "text": RELEASE}).encode()),
    ".pdf": make_pdf([text_page("Consultations", "The sides agreed to expand trade.")], title="Consultations"),
    ".csv": ('title,date,text\nConsultations,2025-03-21,"' + RELEASE.replace('"', '""') + '"\n').encode(),
    ".tsv": ("title\tdate\ttext\nConsultations\t2025-03-21\t" + " ".join(RELEASE.split()) + "\n").encode(),
    ".xml": (f"<releases><release><title>Consultations</title><date>2025-03-21</date><text>{RELEASE}</text>"
             f"</release></releases>").encode(),
    ".rss": (f"<rss version='2.0'><channel><title>MFA</title><item><title>Consultations</title>"
             f"<pubDate>Fri, 21 Mar 2025 10:00:00 +0000</pubDate><description>{RELEASE}</description></item>"
             f"</channel></rss>").encode(),
    ".atom": (f"<feed xmlns='http://www.w3.org/2005/Atom'><title>MFA</title><entry><id>1</id><title>Consultations"
              f"</title><updated>2025-03-21T10:00:00Z</updated><content>{RELEASE}</content></entry></feed>").encode(),
}


def _docx_seed() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Consultations", level=1)
    document.add_paragraph(RELEASE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


SEEDS[".docx"] = _docx_seed()
SEEDS[".odt"] = make_odt([RELEASE], heading="Consultations", title="Consultations")
SEEDS[".ndjson"] = SEEDS[".jsonl"]
SEEDS[".xlsx"] = make_xlsx({"Releases": [["title", "date", "text"], ["Consultations", "2025-03-21", RELEASE]]})
SEEDS[".eml"] = ("From: Press Service <press@mfa.example>\nSubject: Consultations\nDate: Fri, 21 Mar 2025 10:00:00 +0000\n"
                 "Content-Type: text/plain; charset=utf-8\n\n" + RELEASE).encode()
SEEDS[".mbox"] = b"From press@mfa.example Fri Mar 21 10:00:00 2025\n" + SEEDS[".eml"] + b"\n\n" + \
    b"From press@mfa.example Sat Mar 22 10:00:00 2025\n" + SEEDS[".eml"].replace(b"Consultations", b"Talks")
_WARC_PAGES = [("request", "https://mfa.example/talks"),
               ("response", "https://mfa.example/talks", page_html("Consultations", RELEASE, date_meta="2025-03-21"),
                "text/html; charset=utf-8"),
               ("response", "https://mfa.example/logo.png", b"\x89PNG\r\n\x1a\n", "image/png"),
               ("revisit", "https://mfa.example/talks")]
SEEDS[".warc"] = make_warc(_WARC_PAGES, gzipped=False)
SEEDS[".warc.gz"] = make_warc(_WARC_PAGES)  # a gzip member per record, as crawlers write them
for _suffix in SUPPORTED_SUFFIXES:  # every gzipped archive: the gzip of its format's seed
    if _suffix.endswith(".gz") and _suffix not in SEEDS:
        SEEDS[_suffix] = gzip.compress(SEEDS[_suffix.removesuffix(".gz")])
assert set(SEEDS) == set(SUPPORTED_SUFFIXES), "a reader without fuzzing"


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """The seed with a few random edits: bytes flipped, spans cut, inserted or repeated; or cut short."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif action == "repeat":
            span = bytes(data[at : at + draw(st.integers(1, 32))])
            data[at:at] = span * draw(st.integers(2, 200))
        else:
            del data[at:]
    return bytes(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=200),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["text", "title", "date", "published", "source", "url", "id", "body", "x"]) | st.text(max_size=8),
        children, max_size=6,
    ),
    max_leaves=30,
)
tags = st.sampled_from(["div", "p", "span", "table", "tr", "td", "script", "style", "nav", "article", "h1", "b", "!--", "meta"])


@st.composite
def markup(draw) -> bytes:
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        tag = draw(tags)
        kind = draw(st.sampled_from(["open", "close", "text", "attr"]))
        if kind == "open":
            parts.append(f"<{tag}>")
        elif kind == "close":
            parts.append(f"</{tag}>")
        elif kind == "attr":
            parts.append(f"<{tag} {draw(st.text(max_size=20))}='{draw(st.text(max_size=20))}'>")
        else:
            parts.append(draw(st.text(max_size=80)))
    return "".join(parts).encode("utf-8", "surrogatepass")


def inputs_for(suffix: str):
    seed = SEEDS[suffix]
    options = [st.binary(max_size=4096), mutated(seed)]
    if suffix in (".json", ".jsonl", ".jsonl.gz"):
        as_json = json_values.map(lambda v: json.dumps(v).encode())
        if suffix == ".jsonl":
            as_json = st.lists(json_values, max_size=6).map(lambda vs: b"\n".join(json.dumps(v).encode() for v in vs))
        if suffix == ".jsonl.gz":
            as_json = as_json.map(gzip.compress)
        options.append(as_json)
    if suffix in (".html", ".htm", ".md", ".markdown"):
        options.append(markup())
    return st.one_of(options)


TRIED: dict[str, int] = {}


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_generated_inputs_never_escape_the_reader(suffix, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz" + suffix.replace(".", "-"))
    path = folder / f"input{suffix}"
    seed = folder / f"seed{suffix}"
    seed.write_bytes(SEEDS[suffix])
    assert read_file(seed).documents, "the seed itself must read (else mutations test nothing)"

    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("RAG_FUZZ_RANDOM") != "1",
        suppress_health_check=list(HealthCheck), database=None,
    )
    @given(data=inputs_for(suffix))
    def reads_or_refuses(data: bytes):
        TRIED[suffix] = TRIED.get(suffix, 0) + 1
        _reads_or_refuses(path, data)

    reads_or_refuses()
    _record(suffix, TRIED[suffix])


@pytest.mark.parametrize("name", ["page", "news.php"])
def test_names_that_do_not_say_read_every_format_by_content_and_never_escape(name, tmp_path_factory):
    """A wget mirror's names: every seed reads under them (by what its bytes are); random bytes and
    mutations of any seed are read or refused with an error naming the file."""
    folder = tmp_path_factory.mktemp("fuzz-by-content")
    path = folder / name
    for suffix, seed in SEEDS.items():
        path.write_bytes(seed)
        result = read_file(path)
        assert result.documents and not result.errors, (suffix, [str(e) for e in result.errors])

    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("RAG_FUZZ_RANDOM") != "1",
        suppress_health_check=list(HealthCheck), database=None,
    )
    @given(data=st.one_of(st.binary(max_size=4096), st.sampled_from(sorted(SEEDS.values())).flatmap(mutated)))
    def reads_or_refuses(data: bytes):
        TRIED[name] = TRIED.get(name, 0) + 1
        _reads_or_refuses(path, data)

    reads_or_refuses()
    _record("by content: " + name, TRIED[name])


def _reads_or_refuses(path, data: bytes) -> None:
    """One random input: read in time, or refused with an error naming the file; never an exception."""
    path.write_bytes(data)
    started = time.perf_counter()
    result = read_file(path)  # must not raise
    assert time.perf_counter() - started < MAX_SECONDS_RANDOM
    assert result.documents or result.errors
    for error in result.errors:
        assert str(error).startswith(str(path)) and error.problem.strip()
    for doc in result.documents:
        assert doc.text.strip() and doc.doc_id and "\x00" not in doc.text


def _record(name: str, count: int, max_seconds: float | None = None, max_peak_mb: float | None = None) -> None:
    """Counts per part in the artifact (the README's reliability section quotes a long local run)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.is_file() else {}
    report[name] = {"inputs": count, **({"max_seconds": round(max_seconds, 2)} if max_seconds else {}),
                    **({"max_peak_mb": round(max_peak_mb)} if max_peak_mb else {})}
    report["total_inputs"] = sum(v["inputs"] for k, v in report.items() if isinstance(v, dict))
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True))
