"""An embedder in a second process, for a cold `rag ask` on 2 cores.

A cold ask spends ~1.8 s importing torch and loading the encoder, and another ~1.8 s importing
chromadb and loading spaCy; in one process they run one after the other on one core. Here the
torch side starts in a child process at once and loads while this process opens the store and
loads spaCy (which then skips its own optional torch import: rag.nlp), so the two halves overlap
on the two cores. The encoder runs the same code in the child (rag.embeddings), so the vectors
are the same; they come back through a socket as numpy arrays.

`WorkerEmbedder` stands for an `Embedder`: attribute reads and method calls are forwarded. If
the child cannot start or dies, the embedder is loaded in this process instead (a cold ask is
slower, never wrong). The child exits when this process closes its end of the socket, dies
included.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

# What callers read as plain attributes; the child sends them once, when its model is loaded.
_ATTRIBUTES = ("name", "dimension", "similarity_map", "query_prefix", "passage_prefix")


class WorkerEmbedder:
    """The embedder of `settings` (EmbeddingSettings) running in a child process.

    The child is started by the constructor and imports torch at once; the model is loaded when
    `load` is called (the caller may not know which model until it has opened the store)."""

    def __init__(self, settings=None):
        self._lock = threading.Lock()
        self._attributes: dict | None = None
        self._local = None  # the in-process embedder, once the child has failed
        self.settings = None
        mine, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "rag.embedding_worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except (OSError, ValueError) as error:  # ValueError: no pass_fds (Windows)
            log.info("embedding worker did not start (%s); encoding in this process", error)
            self._process, self._conn = None, None
        else:
            self._conn = Connection(os.dup(mine.fileno()))
        finally:
            theirs.close()
            mine.close()
        if settings is not None:
            self.load(settings)

    def load(self, settings) -> None:
        """Ask the child to load the embedder of `settings`; returns at once."""
        self.settings = settings
        if self._conn is not None:
            try:
                self._conn.send(("load", settings.model_dump_json()))
            except OSError:
                self._fail("it could not be reached")

    # -- forwarding ---------------------------------------------------------------------------
    def _from_child(self, ask):
        """(True, ask()) once the child has loaded its model; (False, None) when there is no
        child or it stopped (then the caller uses the embedder in this process)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._ready()
                    return True, ask()
                except (OSError, EOFError) as error:
                    self._fail(f"it stopped ({error!r})")
        return False, None

    def _exchange(self, message):
        self._conn.send(message)
        return self._conn.recv()

    def _call(self, name: str, *args, **kwargs):
        answered, reply = self._from_child(lambda: self._exchange(("call", name, args, kwargs)))
        if not answered:
            return getattr(self._in_process(), name)(*args, **kwargs)
        status, value = reply
        if status == "error":  # the child's exception, raised here as if it ran here
            raise value
        return value

    def _ready(self) -> None:
        if self._attributes is None:
            status, value = self._conn.recv()
            if status == "error":  # loading here raises the same error, with its own traceback
                raise OSError(f"the model did not load there: {value!r}")
            self._attributes = value

    def _fail(self, why: str) -> None:
        log.warning("embedding worker failed: %s; encoding in this process", why)
        self.close()

    def _in_process(self):
        if self._local is None:
            from rag.embeddings import get_embedder

            self._local = get_embedder(self.settings)
        return self._local

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _ATTRIBUTES:
            answered, value = self._from_child(lambda: self._attributes[name])
            return value if answered else getattr(self._in_process(), name)
        if name in ("encode", "encode_queries", "count_tokens", "count_tokens_batch", "embed_documents", "embed_query"):
            return lambda *args, **kwargs: self._call(name, *args, **kwargs)
        if self._conn is not None:  # the torch model itself and the like live in the child
            raise AttributeError(f"{name!r} is not forwarded to the embedding worker")
        return getattr(self._in_process(), name)

    def close(self) -> None:
        """Stop the child. It holds nothing worth a clean exit (tearing torch down takes ~0.3 s
        of a cold ask), so it is killed."""
        conn, self._conn = getattr(self, "_conn", None), None
        if conn is not None:
            conn.close()
        process, self._process = getattr(self, "_process", None), None
        if process is not None:
            process.kill()
            process.wait()

    def __del__(self):
        self.close()


def serve(fd: int) -> None:
    """The child: import torch at once, then load what it is told and answer calls until the
    parent closes the socket."""
    conn = Connection(fd)
    import numpy  # noqa: F401  (with torch: the slow part, done before the parent asks anything)
    import torch  # noqa: F401

    from rag.embeddings import get_embedder
    from rag.settings import EmbeddingSettings

    embedder = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if message[0] == "load":
                embedder = get_embedder(EmbeddingSettings.model_validate_json(message[1]))
                embedder.encode_queries(["warm up"])  # the first encode pays oneDNN's set-up
                reply = {name: getattr(embedder, name) for name in _ATTRIBUTES if hasattr(embedder, name)}
            else:
                _, name, args, kwargs = message
                reply = getattr(embedder, name)(*args, **kwargs)
        except Exception as error:  # sent back and raised in the parent, as if it ran there
            conn.send(("error", error))
            continue
        conn.send(("ok", reply))


if __name__ == "__main__":
    serve(int(sys.argv[1]))
