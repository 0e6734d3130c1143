"""Starting and stopping the real server processes that tests talk to (127.0.0.1 only)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    args: list[str], ready_url: str, timeout_s: float, output: Callable[[], str] = lambda: "", **popen
) -> Iterator[subprocess.Popen]:
    """Start ``args``, wait until ``ready_url`` answers 200, and always stop the process afterwards.

    ``output`` returns the server's log for the failure message when it dies or never gets ready.
    """
    process = subprocess.Popen(args, **popen)
    name = " ".join(str(a) for a in args[:3])
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}: {output()[-2000:]}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer {ready_url} within {timeout_s:.0f} s: {output()[-2000:]}")
            time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
