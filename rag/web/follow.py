"""Keep checking feeds: each at its own interval, one check at a time, until told to stop.

`rag follow` runs it in the foreground; `rag up` in a thread beside the UI, each check going
through the same background ingest (and banner) as the corpus."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rag.settings import FeedSettings

log = logging.getLogger(__name__)


@dataclass
class Check:
    feed: FeedSettings
    started: float  # time.time()
    report: object | None = None  # an IngestReport
    error: str = ""


class FeedFollower:
    """check(feed) -> IngestReport does the work (an ingest of feed.url); on_check is told of each one.

    A feed is checked at once, then every feed.every after the previous check *started*; a check
    that fails (the site is down) is retried at the next interval, like any other."""

    def __init__(
        self,
        feeds: list[FeedSettings],
        check: Callable[[FeedSettings], object],
        on_check: Callable[[Check], None] | None = None,
        max_checks: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not feeds:
            raise ValueError("no feeds to follow")
        self.feeds = list(feeds)
        self._check = check
        self.on_check = on_check
        self.max_checks = max_checks  # per feed; None = forever
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def start(self) -> "FeedFollower":
        self._thread = threading.Thread(target=self.run, name="feed-follower", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def run(self) -> None:
        due = {i: self._clock() for i in range(len(self.feeds))}
        done = {i: 0 for i in range(len(self.feeds))}
        while not self._stop.is_set():
            live = [i for i in due if self.max_checks is None or done[i] < self.max_checks]
            if not live:
                return
            i = min(live, key=lambda j: due[j])
            wait = due[i] - self._clock()
            if wait > 0 and self._stop.wait(wait):
                return
            feed = self.feeds[i]
            due[i] = self._clock() + feed.every_seconds
            check = Check(feed, time.time())
            try:
                check.report = self._check(feed)
            except Exception as error:  # a check that fails must not end the following
                if self._stop.is_set():
                    return
                log.exception("checking %s failed", feed.url)
                check.error = f"{type(error).__name__}: {error}"
            done[i] += 1
            self.checks += 1
            if self.on_check is not None:
                self.on_check(check)
