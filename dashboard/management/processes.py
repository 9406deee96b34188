"""The demo's child processes (emulator, web server, worker, beat), stopped together however the demo ends.

Each child runs in a session of its own, so a Ctrl-C in the terminal reaches only the demo, which then stops them in
order, and each signal goes to a child's whole process group (gunicorn's and Celery's worker processes too). Python
dies on the spot on SIGTERM (`kill`, which make passes on) and SIGHUP (a closed terminal), skipping every `finally`:
inside `ChildProcesses`, both unwind like Ctrl-C instead, so the children never outlive the demo and hold its ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StopSignal(Exception):
    """SIGTERM or SIGHUP arrived."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum)
        super().__init__(self.signal.name)


def _raise_stop_signal(signum: int, frame: FrameType | None) -> None:
    raise StopSignal(signum)


@contextmanager
def _handling(signals: Iterable[signal.Signals], handler: Callable | int) -> Iterator[None]:
    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(process.pid, signum)  # the child leads its own session, so its group id is its pid


class ChildProcesses:
    """Inside `with`, SIGTERM and SIGHUP raise StopSignal; leaving it, however, stops every child started."""

    def __init__(self, *, cwd: Path, logs: Path, grace: float = 15) -> None:
        self.cwd = cwd
        self.logs = logs
        self.grace = grace  # seconds a child may take over its shutdown (a Celery warm shutdown) before SIGKILL
        self.started: list[tuple[str, subprocess.Popen]] = []
        self._handlers = ExitStack()

    def __enter__(self) -> ChildProcesses:
        self._handlers.enter_context(_handling(STOP_SIGNALS, _raise_stop_signal))
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            self._handlers.close()

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        """Start `command` in a session of its own, its output appended to `<logs>/<name>.log`."""
        with (self.logs / f"{name}.log").open("a") as log:
            process = subprocess.Popen(
                command, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((name, process))
        return process

    def exited(self) -> tuple[str, subprocess.Popen] | None:
        """The first child found to have exited, if any."""
        return next(((name, process) for name, process in self.started if process.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM to every child's group, newest first (the web server before the emulator it calls); SIGKILL to
        whatever of a group outlives its leader or the grace period."""
        # A second Ctrl-C or `kill` while the children shut down would abandon them halfway: hold it off.
        with _handling((signal.SIGINT, *STOP_SIGNALS), signal.SIG_IGN):
            for _, process in reversed(self.started):
                if process.poll() is None:
                    _signal_group(process, signal.SIGTERM)
            deadline = time.monotonic() + self.grace
            for _, process in self.started:
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(deadline - time.monotonic(), 0))
                _signal_group(process, signal.SIGKILL)
                process.wait()
