"""A helper process that can be stopped: requests go down a pipe, replies come back, and a request that takes
longer than its budget gets the process killed (and a fresh one started at once, so that it warms up while
the parent carries on). A request's budget counts only the work: the child says when it is ready (its
imports done) and the parent waits for that first, separately.

Used for SymPy (whose simplification can run for minutes) and for other people's engines (which may hang,
recurse forever, crash the interpreter or print without end). The child is `python -m MODULE ARGS...`, so the
parent's `__main__` is never re-imported. While it works on a request the child may send notes (`note()`, say
"now in backward()"); the last one comes with a `TooSlow` or `ChildDied`, so the parent knows where it was.
What the child prints is discarded, or with `capture=True` kept in a bounded `Output` (the first bytes, and a
count of the rest), so that a child that floods its output neither fills the terminal nor the memory.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Child", "ChildDied", "Output", "TooSlow", "note", "serve"]


class TooSlow(Exception):
    """The child did not answer within the budget; it was killed. `note`: the last note it sent."""

    def __init__(self, message: str, note: Any = None) -> None:
        super().__init__(message)
        self.note = note


class ChildDied(Exception):
    """The child exited (a crash in native code, os._exit, ...) before answering. `note`: its last note."""

    def __init__(self, message: str, note: Any = None) -> None:
        super().__init__(message)
        self.note = note


class Output:
    """What children wrote to stdout and stderr: the first `keep` bytes, and the total."""

    def __init__(self, keep: int = 16_384) -> None:
        self.keep = keep
        self.head = bytearray()
        self.total = 0
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        with self._lock:
            self.total += len(data)
            room = self.keep - len(self.head)
            if room > 0:
                self.head += data[:room]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head)

    def text(self) -> str:
        return self.head.decode("utf-8", errors="replace")


def _drain(stream: Any, output: Output) -> None:
    with contextlib.suppress(OSError, ValueError):
        while chunk := stream.read1(65536):
            output.feed(chunk)


class Child:
    """The parent's handle on one helper process running `python -m module *args`."""

    def __init__(
        self, module: str, args: Sequence[str] = (), startup_seconds: float = 120.0, capture: bool = False
    ) -> None:
        self.module, self.args, self.startup_seconds = module, list(args), startup_seconds
        self.output: Output | None = Output() if capture else None
        self.starts = 0  # processes started so far (a restart after a time-out or a death counts)
        self._ready = False
        self._drainer: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._recv: Connection | None = None
        self._send: Connection | None = None
        atexit.register(self.close)

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # The child's own prints (an engine's debug output) stay out of the report: discarded, or kept in part.
        sink = subprocess.PIPE if self.output is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module, str(to_child_r), str(from_child_w), *self.args],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT if self.output is not None else None,
        )
        self.starts += 1
        self._drainer = None
        if self.output is not None:
            self._drainer = threading.Thread(target=_drain, args=(self._process.stdout, self.output), daemon=True)
            self._drainer.start()
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
            if self._drainer is not None:
                self._drainer.join(timeout=5)  # the pipe reaches its end once the process is gone
            if self._process.stdout is not None:
                self._process.stdout.close()
            for conn in (self._send, self._recv):
                if conn is not None:
                    conn.close()
        self._process = self._recv = self._send = None

    def request(self, message: Any, seconds: float) -> Any:
        """Send `message`, wait up to `seconds` for the reply; TooSlow or ChildDied otherwise (with the last note
        the child sent while working on it)."""
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._start()
        if not self._ready:
            self._await_ready()
        assert self._send is not None
        assert self._recv is not None
        last_note: Any = None
        try:
            self._send.send(message)
            deadline = time.monotonic() + seconds
            while True:
                if not self._recv.poll(max(0.0, deadline - time.monotonic())):
                    self.close()
                    self._start()  # the next request finds a warm process
                    raise TooSlow(f"no answer within {seconds:g} s", last_note)
                reply = self._recv.recv()
                if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == _NOTE:
                    last_note = reply[1]
                    continue
                return reply
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = None
            if self._process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = self._process.wait(timeout=2)
            self.close()
            raise ChildDied(f"the process died ({_status(code)})", last_note) from None


def _status(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


_READY = "__gradverify_child_ready__"
_NOTE = "__gradverify_child_note__"
_replies: Connection | None = None


def note(what: Any) -> None:
    """In the child: tell the parent where the work on the current request has got to (no reply expected)."""
    if _replies is not None:
        _replies.send((_NOTE, what))


def serve(handle: Callable[[Any], Any], warmup: Callable[[], None] | None = None) -> None:
    """The child's main loop: run `warmup` (slow imports), say so, then `handle` each request and send back
    what it returns (argv: the two pipe fds)."""
    global _replies
    # Ctrl-C at a terminal reaches the whole process group; the parent decides when this process ends (it closes
    # the pipe), so the signal is not this process's to act on, nor to print a traceback for.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = Connection(int(sys.argv[1]), writable=False)
    replies = _replies = Connection(int(sys.argv[2]), readable=False)
    if warmup is not None:
        warmup()
    replies.send(_READY)
    while True:
        try:
            message = requests.recv()
        except EOFError:
            return
        replies.send(handle(message))
