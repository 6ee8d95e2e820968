"""A helper process that can be stopped: requests go down a pipe, replies come back, and a request that takes
longer than its budget gets the process killed (and a fresh one started at once, so that it warms up while
the parent carries on). A request's budget counts only the work: the child says when it is ready (its
imports done) and the parent waits for that first, separately.

Used for SymPy (whose simplification can run for minutes) and for other people's engines (which may hang,
recurse forever or crash the interpreter). The child is `python -m MODULE ARGS...`, so the parent's
`__main__` is never re-imported.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Child", "ChildDied", "TooSlow", "serve"]


class TooSlow(Exception):
    """The child did not answer within the budget; it was killed."""


class ChildDied(Exception):
    """The child exited (a crash in native code, os._exit, ...) before answering."""


class Child:
    """The parent's handle on one helper process running `python -m module *args`."""

    def __init__(self, module: str, args: Sequence[str] = (), startup_seconds: float = 120.0) -> None:
        self.module, self.args, self.startup_seconds = module, list(args), startup_seconds
        self._ready = False
        self._process: subprocess.Popen[bytes] | None = None
        self._recv: Connection | None = None
        self._send: Connection | None = None
        atexit.register(self.close)

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module, str(to_child_r), str(from_child_w), *self.args],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the child's own prints (an engine's debug output) stay out of the report
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self._ready = False

    def _await_ready(self) -> None:
        assert self._recv is not None
        try:
            if not self._recv.poll(self.startup_seconds):
                self.close()
                raise ChildDied(f"the process did not start within {self.startup_seconds:g} s")
            hello = self._recv.recv()
        except (EOFError, OSError):
            code = self._process.poll() if self._process is not None else None
            self.close()
            raise ChildDied(f"the process died while starting (exit status {code})") from None
        if hello != _READY:
            self.close()
            raise ChildDied(f"the process started with {hello!r} instead of its ready signal")
        self._ready = True

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            for conn in (self._send, self._recv):
                if conn is not None:
                    conn.close()
        self._process = self._recv = self._send = None

    def request(self, message: Any, seconds: float) -> Any:
        """Send `message`, wait up to `seconds` for the reply; TooSlow or ChildDied otherwise."""
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._start()
        if not self._ready:
            self._await_ready()
        assert self._send is not None
        assert self._recv is not None
        try:
            self._send.send(message)
            if not self._recv.poll(seconds):
                self.close()
                self._start()  # the next request finds a warm process
                raise TooSlow(f"no answer within {seconds:g} s")
            return self._recv.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = None
            if self._process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = self._process.wait(timeout=2)
            self.close()
            raise ChildDied(f"the process died (exit status {code})") from None


_READY = "__gradverify_child_ready__"


def serve(handle: Callable[[Any], Any], warmup: Callable[[], None] | None = None) -> None:
    """The child's main loop: run `warmup` (slow imports), say so, then `handle` each request and send back
    what it returns (argv: the two pipe fds)."""
    # Ctrl-C at a terminal reaches the whole process group; the parent decides when this process ends (it closes
    # the pipe), so the signal is not this process's to act on, nor to print a traceback for.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = Connection(int(sys.argv[1]), writable=False)
    replies = Connection(int(sys.argv[2]), readable=False)
    if warmup is not None:
        warmup()
    replies.send(_READY)
    while True:
        try:
            message = requests.recv()
        except EOFError:
            return
        replies.send(handle(message))
