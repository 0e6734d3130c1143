"""The web ingest's parts on their own: listings (RSS, Atom, sitemaps, hostile XML), headlines and
datelines of pages, follow intervals, and the follower's schedule."""

from __future__ import annotations

import gzip
from datetime import date

import pytest

from rag.ingest.markup import date_line, html_to_text
from rag.settings import FeedSettings, parse_interval
from rag.web.follow import FeedFollower
from rag.web.listing import FEED, SITEMAP, ListingError, listing_kind, newest_first, parse_listing, unpacked


def test_listing_kinds_by_root_element():
    assert listing_kind(b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- <urlset> --><rss version="2.0"></rss>') == FEED
    assert listing_kind(b"<feed xmlns='http://www.w3.org/2005/Atom'/>") == FEED
    assert listing_kind(b'<?xml version="1.0"?><urlset/>') == SITEMAP
    assert listing_kind(b"<!DOCTYPE html><html><body>rss feed</body></html>") is None


def test_atom_relative_links_and_dates_in_the_sites_language():
    atom = """<feed xmlns="http://www.w3.org/2005/Atom"><title>МИД</title>
      <entry><title>Первая</title><link href="/ru/press/1"/><published>2025-03-21T10:25:00+05:00</published></entry>
      <entry><title>Вторая</title><link href="press/2"/><updated>21 марта 2025</updated></entry>
      <entry><title>Без ссылки</title></entry></feed>""".encode()
    entries = parse_listing(atom, "https://mfa.example/ru/atom.xml", FEED).entries
    assert [e.url for e in entries] == ["https://mfa.example/ru/press/1", "https://mfa.example/ru/press/2"]
    assert entries[0].published == entries[1].published == date(2025, 3, 21)
    assert entries[0].source == "МИД"


def test_a_sitemap_never_expands_entities_or_fetches_anything():
    hostile = b"""<?xml version="1.0"?>
    <!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">]>
    <urlset><url><loc>https://mfa.example/&xxe;</loc></url><url><loc>https://mfa.example/ok</loc></url></urlset>"""
    urls = [e.url for e in parse_listing(hostile, "https://mfa.example/sitemap.xml", SITEMAP).entries]
    assert "https://mfa.example/ok" in urls and not any("root:" in u for u in urls)


def test_a_gzip_bomb_is_refused_not_expanded():
    bomb = gzip.compress(b"<urlset>" + b" " * (50 * 1024 * 1024) + b"</urlset>")
    with pytest.raises(ListingError, match="expands to more than"):
        unpacked(bomb, 5 * 1024 * 1024)
    assert unpacked(gzip.compress(b"<urlset/>"), 1024) == b"<urlset/>"


def test_newest_first_keeps_the_first_listing_of_each_url():
    from rag.web.listing import Entry

    entries = [Entry("a", "A", date(2024, 1, 1)), Entry("b", "B", date(2025, 1, 1)), Entry("a", "A again", date(2026, 1, 1))]
    assert [(e.url, e.title) for e in newest_first(entries)] == [("b", "B"), ("a", "A")]


@pytest.mark.parametrize("line", ["21 March 2025, 10:25", "10:25 | 21 марта 2025 года", "2025 жылғы 21 наурыз", "21.03.2025"])
def test_a_dateline_in_the_sites_own_format(line):
    assert date_line(f"Menu\n\n{line}\n\nThe ministry said.") == line.replace("10:25 | ", "10:25 | ")


def test_the_headline_comes_without_the_sites_name_and_the_site_name_from_the_title():
    page = html_to_text(
        "<html><head><title>Ministers met in Astana today | Ministry of Foreign Affairs</title></head>"
        "<body><h1>Ministers met in Astana today</h1><p>3 April 2025</p>"
        "<p>The ministers met in Astana today and discussed transit corridors across the Caspian Sea.</p></body></html>"
    )
    assert page.title == "Ministers met in Astana today"
    assert page.site_name == "Ministry of Foreign Affairs"
    assert page.date == "3 April 2025" and not page.text.startswith("3 April")


def test_a_page_with_no_date_of_its_own_takes_the_one_its_link_holds():
    from rag.web.fetch import Response
    from rag.web.page import page_result

    body = (b"<html><head><title>Ministers met in Astana</title></head><body><h1>Ministers met in Astana</h1>"
            b"<p>The ministers met in Astana and discussed transit corridors across the Caspian Sea.</p></body></html>")
    dated = page_result("https://mfa.example/press/2025/04/03/astana/", Response("", 200, body, "text/html"))
    undated = page_result("https://mfa.example/press/astana/", Response("", 200, body, "text/html"))
    assert dated.documents[0].published == date(2025, 4, 3)
    assert undated.documents[0].published is None


def test_follow_intervals():
    assert parse_interval("90") == 90 and parse_interval("15m") == 900 and parse_interval("1h") == 3600
    assert parse_interval("1d") == 86400
    for bad in ("soon", "1w", "-5m", "2s"):
        with pytest.raises(ValueError):
            parse_interval(bad)
    with pytest.raises(ValueError):
        FeedSettings(url="https://mfa.example/rss", every="often")


def test_a_failing_check_does_not_end_the_following():
    checked, told = [], []

    def check(feed):
        checked.append(feed.url)
        if "down" in feed.url:
            raise ConnectionError("the site is down")
        return "report"

    feeds = [FeedSettings(url="https://down.example/rss"), FeedSettings(url="https://up.example/rss")]
    FeedFollower(feeds, check, told.append, max_checks=1).run()
    assert checked == ["https://down.example/rss", "https://up.example/rss"]
    assert "the site is down" in told[0].error and told[1].report == "report"
