"""Ingest in a background thread of the serving process, with a progress object anyone can poll.

`rag up` serves the UI at once and fills the store behind it: `BackgroundIngest` runs
`IngestService.ingest` in a thread, `IngestProgress` turns the pipeline's
``progress(done, total, message)`` calls into a consistent `IngestStatus` snapshot (phase,
counts, time left, error, summary) that the UI shows in a banner and the CLI prints.

Stopping (Ctrl-C, SIGTERM) is cooperative: `cancel()` makes the next progress call raise
`IngestCancelled`, and the pipeline calls progress between encode steps and between store
writes, never inside one. What was stored stays valid (the pipeline's hash/count bookkeeping),
and the next run completes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.bridge import MESSAGE as CROSS_LINGUAL_MESSAGE
from rag.ingest.pipeline import IngestReport, ProgressFn, expand_paths
from rag.ingest.readers import ARCHIVE_SUFFIXES, file_suffix
from rag.web.fetch import is_url

log = logging.getLogger(__name__)

RUNNING_PHASES = ("starting", "reading", "embedding")
# Single-release files (a .txt, .pdf, ...) beside an archive are ingested first, in seconds, so
# questions about them work right away; only when they are few (it is a head start, not a sort).
FIRST_PASS_MAX_FILES = 100
PAUSE_POLL_S = 0.5  # while paused for questions, how often a cancel is noticed


class IngestCancelled(Exception):
    """Raised from the progress callback to stop an ingest between two steps."""


@dataclass(frozen=True)
class IngestStatus:
    """One consistent snapshot of a background ingest. Times are epoch seconds (time.time())."""

    phase: str  # starting | reading | embedding | done | failed | interrupted
    done: int = 0  # files read (reading) or passages stored (embedding) in the current phase
    total: int = 0
    started: float = 0.0
    finished: float | None = None
    eta_seconds: float | None = None  # embedding only, once a rate is known
    chunks_written: int = 0  # when finished
    failed_files: int = 0  # when finished: files that could not be read (the rest is stored)
    error: str = ""  # when failed
    summary: str = ""  # when finished: IngestReport.summary()
    first_pass: bool = False  # the single releases beside an archive, ingested before the rest
    feed: str = ""  # the feed being checked (`rag up` following [[feeds]]); "" for the corpus
    cross_lingual: bool = False  # embedding for questions in other languages (rag.bridge), after the main pass
    as_of: float = 0.0  # when this snapshot was taken

    @property
    def running(self) -> bool:
        return self.phase in RUNNING_PHASES

    @property
    def percent(self) -> int | None:
        return int(100 * self.done / self.total) if self.total else None

    @property
    def elapsed_seconds(self) -> float:
        return (self.finished or self.as_of) - self.started

    def to_dict(self) -> dict:
        return {**asdict(self), "running": self.running, "percent": self.percent}


class IngestProgress:
    """Thread-safe progress of one ingest: the ingest thread writes, any thread takes snapshots.

    `update` has the pipeline's ProgressFn signature. The time left is estimated from the
    embedding rate since the current embedding phase began, counted down between updates.
    """

    def __init__(self, clock: Callable[[], float] = time.time, feed: str = ""):
        self._clock = clock
        self._feed = feed
        self._lock = threading.Lock()
        self._phase = "starting"
        self._done = 0
        self._total = 0
        self._started = clock()
        self._finished: float | None = None
        self._rate_base: tuple[float, int] | None = None  # (time, done) when the embedding phase began
        self._last: tuple[float, int] | None = None  # (time, done) of the latest embedding update
        self._chunks_written = 0
        self._failed_files = 0
        self._error = ""
        self._summary = ""
        self._first_pass = False
        self._cross_lingual = False

    def begin_pass(self, first: bool) -> None:
        with self._lock:
            self._first_pass = first

    def update(self, done: int, total: int, message: str = "") -> None:
        phase = "embedding" if "embedding" in message else "reading"
        now = self._clock()
        with self._lock:
            if self._phase not in RUNNING_PHASES:
                return  # finished: late calls change nothing
            cross_lingual = message == CROSS_LINGUAL_MESSAGE
            if phase == "embedding":
                if (self._phase != "embedding" or self._rate_base is None or done < self._rate_base[1]
                        or cross_lingual != self._cross_lingual):
                    self._rate_base = (now, done)  # a new embedding phase (each ingest pass has one)
                if self._last is None or done != self._last[1] or self._phase != "embedding":
                    self._last = (now, done)
            else:
                self._rate_base = self._last = None
            self._phase, self._done, self._total = phase, done, total
            self._cross_lingual = cross_lingual

    def finish(self, report: IngestReport) -> None:
        with self._lock:
            self._phase, self._finished = "done", self._clock()
            self._chunks_written, self._failed_files = report.chunks_written, len(report.failed)
            self._summary = report.summary()

    def fail(self, error: str) -> None:
        with self._lock:
            self._phase, self._finished, self._error = "failed", self._clock(), error

    def interrupt(self) -> None:
        with self._lock:
            self._phase, self._finished = "interrupted", self._clock()

    def snapshot(self) -> IngestStatus:
        now = self._clock()
        with self._lock:
            return IngestStatus(
                phase=self._phase, done=self._done, total=self._total, started=self._started,
                finished=self._finished, eta_seconds=self._eta(now), chunks_written=self._chunks_written,
                failed_files=self._failed_files, error=self._error, summary=self._summary,
                first_pass=self._first_pass and self._phase in RUNNING_PHASES, as_of=now, feed=self._feed,
                cross_lingual=self._cross_lingual and self._phase in RUNNING_PHASES,
            )

    def _eta(self, now: float) -> float | None:
        if self._phase != "embedding" or self._rate_base is None or self._last is None:
            return None
        (t0, d0), (t1, d1) = self._rate_base, self._last
        if d1 <= d0 or t1 <= t0:
            return None  # no batch stored yet in this phase: no rate to go by
        rate = (d1 - d0) / (t1 - t0)
        return max(0.0, (self._total - d1) / rate - (now - t1))


def first_pass(paths: Iterable[Path | str]) -> list[Path]:
    """The single-release files to ingest before the rest: only beside an archive, and only a few."""
    files, _ = expand_paths([Path(p) for p in paths if not is_url(p)])
    singles = [f for f in files if file_suffix(f) not in ARCHIVE_SUFFIXES | {".zip"}]  # a zip holds many
    if not singles or len(singles) == len(files) or len(singles) > FIRST_PASS_MAX_FILES:
        return []
    return singles


def merge_reports(first: IngestReport, main: IngestReport) -> IngestReport:
    """One report for a two-pass ingest: a file ingested by the first pass reads 'unchanged' in the second."""
    by_path = {f.path: f for f in first.files if f.status != "unchanged"}
    return IngestReport(
        files=[by_path.get(f.path, f) for f in main.files],
        removed_documents=first.removed_documents + main.removed_documents,
        chunks_written=first.chunks_written + main.chunks_written,
        vectors_reused=first.vectors_reused + main.vectors_reused,
        cross_lingual=first.cross_lingual + main.cross_lingual,
        seconds=first.seconds + main.seconds,
    )


class BackgroundIngest:
    """`service.ingest(paths)` in a daemon thread; single releases beside an archive go first.

    listener: another ProgressFn (the CLI's progress bars), called for the main pass only.
    on_finish: called with this object from the ingest thread when it ends, however it ends.
    pause: called between steps as pause(timeout) -> bool; blocks while the process has something
    more urgent to do, True once it has not (Services passes "wait until no question is being answered").
    """

    def __init__(
        self,
        service,
        paths: Iterable[Path | str],
        listener: ProgressFn | None = None,
        on_finish: Callable[["BackgroundIngest"], None] | None = None,
        quick_first: bool = True,
        pause: Callable[[float], bool] | None = None,
        sync: bool = False,
    ):
        self.service = service
        self.paths = [p if is_url(p) else Path(p) for p in paths]  # URLs stay strings (a Path drops a "/")
        self.sync = sync
        self.listener = listener
        self.on_finish = on_finish
        self.quick_first = quick_first
        self.pause = pause
        feeds = [p for p in self.paths if is_url(p)]
        self.progress = IngestProgress(feed=feeds[0] if len(feeds) == 1 and len(self.paths) == 1 else "")
        self.report: IngestReport | None = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="background-ingest", daemon=True)

    def start(self) -> "BackgroundIngest":
        self._thread.start()
        return self

    def status(self) -> IngestStatus:
        return self.progress.snapshot()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def cancel(self) -> None:
        """Stop at the next step boundary (within one encode batch); what is stored stays."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _step(self, listener: ProgressFn | None) -> ProgressFn:
        def progress(done: int, total: int, message: str) -> None:
            while self.pause is not None and not self._cancel.is_set() and not self.pause(PAUSE_POLL_S):
                pass  # a question is being answered: let it have the CPU (and notice a cancel meanwhile)
            if self._cancel.is_set():
                raise IngestCancelled()
            self.progress.update(done, total, message)
            if listener is not None:
                listener(done, total, message)

        return progress

    def _run(self) -> None:
        try:
            first = first_pass(self.paths) if self.quick_first else []
            report = None
            if first:
                self.progress.begin_pass(first=True)
                report = self.service.ingest(first, progress=self._step(None))
                log.info("ingested %d single release file(s) first: %s", len(first), report.summary())
                self.progress.begin_pass(first=False)
            main = self.service.ingest(self.paths, sync=self.sync, progress=self._step(self.listener))
            self.report = merge_reports(report, main) if report is not None else main
            self.progress.finish(self.report)
        except IngestCancelled:
            self.progress.interrupt()
        except Exception as error:  # reported in the UI banner and by on_finish, never lost in a thread
            log.exception("background ingest of %s failed", [str(p) for p in self.paths])
            self.error = error
            self.progress.fail(f"{type(error).__name__}: {error}")
        finally:
            if self.on_finish is not None:
                try:
                    self.on_finish(self)
                except Exception:
                    log.exception("the background ingest's on_finish callback failed")
