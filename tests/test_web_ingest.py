"""Releases straight from a ministry's website: feeds, sitemaps and pages over real HTTP (a
fixture site on 127.0.0.1), fetched politely, re-fetched only conditionally, into a real store."""

from __future__ import annotations

from datetime import date

import pytest

from rag.services import Services
from rag.settings import Settings, WebSettings
from rag.web.page import web_doc_id
from web_site import NORLAND_V2, ministry_site, without_items

QUICK = dict(min_interval_s=0.0, timeout_s=1.0, retries=1, backoff_s=0.01, max_page_mb=0.2)


def _services(tmp_path, **web) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", web=WebSettings(**{**QUICK, **web})))


@pytest.fixture
def site():
    site = ministry_site()
    yield site
    site.close()


def _by_url(report, site) -> dict[str, object]:
    return {f.path.replace(site.base, ""): f for f in report.files}


def test_a_feed_is_ingested_page_by_page_and_answers_cite_the_page_url(site, tmp_path):
    services = _services(tmp_path)
    report = services.ingest.ingest([f"{site.base}/en/rss.xml"])
    files = _by_url(report, site)
    assert {k: f.status for k, f in files.items()} == {
        "/en/press/albania": "ingested",
        "/en/press/mongolia": "ingested",
        "/en/press/norland": "ingested",
        "/en/press/withdrawn": "failed",
        "/private/internal-note": "failed",
    }
    assert "HTTP 404" in files["/en/press/withdrawn"].errors[0] and site.base in files["/en/press/withdrawn"].errors[0]
    assert "robots.txt" in files["/private/internal-note"].errors[0]
    assert not [r for r in site.requests if r.path.startswith("/private/")], "robots.txt was not honoured"
    assert all(r.user_agent.startswith("rag-press/") for r in site.requests)

    docs = {d.url.replace(site.base, ""): d for d in services.store.documents()}
    albania = docs["/en/press/albania"]
    assert albania.title == "Kazakhstan and Albania held the first round of political consultations"
    assert albania.published == date(2025, 3, 21) and albania.language == "en"
    assert albania.source == "Ministry of Foreign Affairs of the Republic of Kazakhstan"  # from the page's <title>
    assert docs["/en/press/norland"].published == date(2025, 3, 10)
    text = " ".join(c.text for c in services.store.document_chunks(albania.doc_id))
    for noise in ("cookies", "Share:", "Related news", "Mangilik El avenue", "Consular Service", "dataLayer"):
        assert noise not in text, f"page furniture in the release text: {noise!r}"
    assert text.startswith("The first round of political consultations")

    answer = services.answers.ask("What did Albania propose?")
    assert not answer.refused
    assert "Intergovernmental Commission" in answer.text or "Business Council" in answer.text
    assert answer.citations and answer.citations[0].url == f"{site.base}/en/press/albania"


def test_a_second_run_makes_only_conditional_requests_and_writes_nothing(site, tmp_path):
    services = _services(tmp_path)
    services.ingest.ingest([f"{site.base}/en/rss.xml"])
    version = services.store.version()
    state = (tmp_path / "data" / "web.json").read_text()

    mark = site.mark()
    report = services.ingest.ingest([f"{site.base}/en/rss.xml"])
    again = site.since(mark)
    answered = [r for r in again if r.status != 404]  # the withdrawn page is asked again, and still missing
    assert answered and all(r.conditional and r.status == 304 for r in answered), again
    assert report.chunks_written == 0 and services.store.version() == version
    assert (tmp_path / "data" / "web.json").read_text() == state
    assert report.web["not_modified"] == len(answered)
    statuses = {f.path.replace(site.base, ""): f.status for f in report.files}
    assert statuses["/en/press/albania"] == statuses["/en/press/mongolia"] == "unchanged"  # ETag / Last-Modified


def test_a_page_edited_on_the_site_is_re_ingested_alone_and_replaces_its_chunks(site, tmp_path):
    services = _services(tmp_path)
    services.ingest.ingest([f"{site.base}/en/rss.xml"])
    norland = web_doc_id(f"{site.base}/en/press/norland")
    site.change("/en/press/norland", NORLAND_V2)

    mark = site.mark()
    report = services.ingest.ingest([f"{site.base}/en/rss.xml"])
    full = [r.path for r in site.since(mark) if r.status == 200]
    assert full == ["/en/press/norland"]
    statuses = {f.path.replace(site.base, ""): f.status for f in report.files}
    assert statuses["/en/press/norland"] == "ingested"
    assert statuses["/en/press/albania"] == "unchanged" and statuses["/en/press/mongolia"] == "unchanged"
    text = " ".join(c.text for c in services.store.document_chunks(norland))
    assert "launch in June" in text and "study further" not in text
    assert report.chunks_written == len(services.store.document_chunks(norland))


def test_a_release_dropped_from_the_feed_is_kept_unless_sync_says_otherwise(site, tmp_path):
    services = _services(tmp_path)
    services.ingest.ingest([f"{site.base}/en/rss.xml"])
    mongolia = web_doc_id(f"{site.base}/en/press/mongolia")
    site.change("/en/rss.xml", without_items(site.routes["/en/rss.xml"].body.decode(), "/en/press/mongolia"))

    report = services.ingest.ingest([f"{site.base}/en/rss.xml"])
    assert report.removed_documents == 0 and services.store.document_chunks(mongolia)
    report = services.ingest.ingest([f"{site.base}/en/rss.xml"], sync=True)
    assert report.removed_documents == 1 and not services.store.document_chunks(mongolia)
    assert services.store.document_chunks(web_doc_id(f"{site.base}/en/press/albania"))


def test_a_file_sync_leaves_web_releases_alone(site, tmp_path):
    services = _services(tmp_path)
    services.ingest.ingest([f"{site.base}/en/press/albania"])
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "note.txt").write_text("Title: A note\n\nThe ministry published a short note about consular hours today.")
    report = services.ingest.ingest([folder], sync=True)
    assert report.removed_documents == 0
    assert services.store.document_chunks(web_doc_id(f"{site.base}/en/press/albania"))


def test_slow_oversized_and_failing_pages_fail_alone_with_the_reason(site, tmp_path):
    big = "<html><body><article>" + "<p>The ministry said a great deal that day.</p>" * 6000 + "</article></body></html>"
    site.add("/en/press/slow", "<html><body><p>late</p></body></html>", delay_s=2.5)
    site.add("/en/press/big", big)
    site.add("/en/press/big-streamed", big, chunked=True)
    site.add("/en/press/busy", (site.routes["/en/press/norland"].body), failures=1)
    site.add("/en/press/down", "never", failures=5)
    services = _services(tmp_path)
    urls = [f"{site.base}/en/press/{name}" for name in ("slow", "big", "big-streamed", "busy", "down", "albania")]
    report = services.ingest.ingest(urls)
    files = _by_url(report, site)
    assert "timed out" in files["/en/press/slow"].errors[0]
    assert "0.2 MB cap" in files["/en/press/big"].errors[0]
    assert "0.2 MB cap" in files["/en/press/big-streamed"].errors[0]
    assert files["/en/press/busy"].status == "ingested"  # one 503, then the retry got it
    assert "HTTP 503 after 2 tries" in files["/en/press/down"].errors[0]
    assert files["/en/press/albania"].status == "ingested"
    assert report.web["retries"] >= 2


def test_requests_to_one_host_keep_the_minimum_interval(site, tmp_path):
    services = _services(tmp_path, min_interval_s=0.25)
    services.ingest.ingest([f"{site.base}/en/rss.xml"])
    times = [r.at for r in site.requests]
    assert len(times) >= 6
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.24, gaps


def test_a_sitemap_index_with_a_gzipped_sitemap_and_pages_in_three_languages(site, tmp_path):
    services = _services(tmp_path)
    report = services.ingest.ingest([f"{site.base}/sitemap.xml", f"{site.base}/ru/atom.xml"])
    assert report.ok, [f.errors for f in report.failed]
    docs = {d.url.replace(site.base, ""): d for d in services.store.documents()}
    assert set(docs) == {"/en/press/albania", "/en/press/mongolia", "/kk/press/albania", "/ru/press/albania"}
    ru, kk = docs["/ru/press/albania"], docs["/kk/press/albania"]
    assert ru.language == "ru" and ru.published == date(2025, 3, 21)  # "21 марта 2025, 10:25", Windows-1251
    assert ru.title == "Казахстан и Албания провели первый раунд политических консультаций"
    assert kk.language == "kk" and kk.published == date(2025, 3, 21)  # "2025 жылғы 21 наурыз, 10:25"
    assert "Василенко" in " ".join(c.text for c in services.store.document_chunks(ru.doc_id))

    mark = site.mark()
    report = services.ingest.ingest([f"{site.base}/sitemap.xml"])
    assert report.chunks_written == 0
    again = site.since(mark)
    assert {r.path for r in again} >= {"/sitemap.xml", "/sitemap-en.xml", "/sitemap-kk.xml.gz"}
    assert all(r.conditional and r.status == 304 for r in again), again


def test_a_bad_url_or_a_broken_feed_is_a_clear_error_and_the_rest_goes_on(site, tmp_path):
    site.add("/en/broken.xml", "<rss><channel><item><title>unclosed", content_type="application/rss+xml")
    services = _services(tmp_path)
    report = services.ingest.ingest([f"{site.base}/en/nothing-here.xml", f"{site.base}/en/press/albania"])
    files = _by_url(report, site)
    assert files["/en/nothing-here.xml"].status == "failed" and "HTTP 404" in files["/en/nothing-here.xml"].errors[0]
    assert files["/en/press/albania"].status == "ingested"
    report = services.ingest.ingest([f"{site.base}/en/broken.xml"])
    assert report.files[0].status == "failed" and "not a readable feed" in report.files[0].errors[0], report.files
    report = services.ingest.ingest(["http://127.0.0.1:9/unreachable.xml"])
    error = report.files[0].errors[0]
    assert report.files[0].status == "failed" and "robots.txt could not be read (connection failed" in error, error
