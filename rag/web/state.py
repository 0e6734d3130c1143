"""What the web ingest remembers between runs, in one JSON file under data_dir:

- pages: url -> validators (ETag, Last-Modified) of the version whose chunks are stored, and its doc id;
- listings: feed or sitemap url -> its validators and the page URLs it listed (for a 304, and for --sync);
- robots: host -> its robots.txt and validators.

Written atomically (a temporary file renamed over the old one) and only after the store holds
what it describes, so a crash loses at most the knowledge that lets the next run skip pages.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from rag.web.fetch import Validators

STATE_FILE = "web.json"
STATE_VERSION = 1


class WebState:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / STATE_FILE
        self._lock = threading.Lock()
        self.pages: dict[str, dict] = {}
        self.listings: dict[str, dict] = {}
        self.robots: dict[str, dict] = {}
        self._saved = ""
        self._load()

    def _load(self) -> None:
        try:
            raw = self.path.read_text(encoding="utf-8")
            data = json.loads(raw)
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            # Unreadable: start afresh. The cost is one unconditional fetch per page; the store
            # still decides by content hash that nothing changed, so nothing is re-embedded.
            return
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return
        self.pages = dict(data.get("pages") or {})
        self.listings = dict(data.get("listings") or {})
        self.robots = dict(data.get("robots") or {})
        self._saved = raw

    def page_validators(self, url: str, recipe: str) -> Validators:
        entry = self.pages.get(url) or {}
        if entry.get("recipe") != recipe:
            return Validators()
        return Validators(entry.get("etag", ""), entry.get("last_modified", ""))

    def remember_page(self, url: str, doc_id: str, validators: Validators, recipe: str, feed: str = "") -> None:
        """feed: the feed or sitemap that listed the page, kept with the others that did (for --sync)."""
        with self._lock:
            feeds = list((self.pages.get(url) or {}).get("feeds", []))
            if feed and feed not in feeds:
                feeds.append(feed)
            self.pages[url] = {
                "doc_id": doc_id, "etag": validators.etag, "last_modified": validators.last_modified,
                "recipe": recipe, "feeds": feeds,
            }

    def unlisted(self, feed: str, listed: set[str]) -> list[str]:
        """Pages ``feed`` listed in an earlier run that it lists no more; forgets that it listed them.
        Returns those that no other feed lists either."""
        orphans = []
        with self._lock:
            for url, entry in self.pages.items():
                feeds = entry.get("feeds", [])
                if feed in feeds and url not in listed:
                    feeds.remove(feed)
                    if not feeds:
                        orphans.append(url)
        return orphans

    def forget_page(self, url: str) -> None:
        with self._lock:
            self.pages.pop(url, None)

    def listing(self, url: str) -> dict:
        return self.listings.get(url) or {}

    def remember_listing(
        self, url: str, validators: Validators, entries: list[dict], kind: str, children: list[str] = ()
    ) -> None:
        with self._lock:
            self.listings[url] = {
                "kind": kind, "etag": validators.etag, "last_modified": validators.last_modified,
                "entries": entries, "children": list(children),
            }

    def save(self) -> bool:
        """Write the file if anything changed; True when it was written."""
        with self._lock:
            data = {"version": STATE_VERSION, "pages": self.pages, "listings": self.listings, "robots": self.robots}
            raw = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
            if raw == self._saved:
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(raw, encoding="utf-8")
            os.replace(tmp, self.path)
            self._saved = raw
            return True
