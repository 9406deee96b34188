"""Deployment: the demo leaves nothing running once stopped; locks, image and compose install and start as intended."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOP_SIGNALS = pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")


# --- make demo: every process it started stops with it ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_free(port: int) -> bool:
    """Nothing listens on the port (a socket left in TIME_WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, parent = stat.rsplit(")", 1)[1].split()[:2]  # the command name in parentheses may hold spaces
    return state, int(parent)


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie holds no port and runs nothing; its reaper may be slow


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _kill_leftovers(pids: set[int]) -> None:
    """Whatever a failing test leaves must not hold this machine's ports: each child leads its own group."""
    for pid in pids:
        if _alive(pid):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)


# A child as the demo starts them: it listens on a port and has a worker process in its group sharing that socket,
# like gunicorn's and Celery's. "stubborn" ignores SIGTERM altogether; otherwise only the worker does, and outlives
# its leader unless the whole group is stopped.
CHILD = """
import os, signal, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(600)
"""

# The demo's shape without Django: start the children, wait for one to exit; a stop signal unwinds through `with`.
SUPERVISOR = """
import sys, time
from pathlib import Path
from dashboard.management.processes import ChildProcesses, StopSignal
folder, ports = Path(sys.argv[1]), sys.argv[2:]
try:
    with ChildProcesses(cwd=folder, logs=folder, grace=1) as processes:
        for port, mode in zip(ports, ["plain", "stubborn"]):
            processes.start(mode, [sys.executable, str(folder / "child.py"), port, mode])
        while processes.exited() is None:
            time.sleep(0.1)
except StopSignal as stop:
    print("stopped by", stop.signal.name, flush=True)
"""


@needs_proc
@STOP_SIGNALS
def test_child_processes_signal_stops_whole_groups_and_frees_ports(tmp_path, signum):
    ports = [_free_port(), _free_port()]
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "supervisor.py").write_text(SUPERVISOR)
    supervisor = subprocess.Popen(
        [sys.executable, str(tmp_path / "supervisor.py"), str(tmp_path), *map(str, ports)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        assert _wait_until(lambda: all(map(_listening, ports)) or supervisor.poll() is not None, 30)
        assert supervisor.poll() is None, supervisor.communicate()[0]
        started = _descendants(supervisor.pid)
        assert len(started) == 4  # two children, each with its worker

        supervisor.send_signal(signum)
        output = supervisor.communicate(timeout=15)[0]

        assert f"stopped by {signal.Signals(signum).name}" in output
        assert _wait_until(lambda: not any(map(_alive, started)), 5), [pid for pid in started if _alive(pid)]
        assert all(map(_port_free, ports))
    finally:
        supervisor.kill()
        _kill_leftovers(started)


@pytest.mark.slow
@needs_proc
def test_demo_sigterm_stops_every_process_it_started(tmp_path):
    """The whole demo (about half a minute); the test above covers SIGHUP, and the same handling serves both."""
    web_port, emulator_port = _free_port(), _free_port()
    # The demo's own embedded defaults in a var dir of its own, never the test run's database or broker.
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(BBDASH_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    output = tmp_path / "demo.out"
    with output.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(web_port), "--emulator-port", str(emulator_port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started: set[int] = set()
    try:
        assert _wait_until(lambda: "is running at" in output.read_text() or demo.poll() is not None, 180)
        assert demo.poll() is None, output.read_text()
        started = _descendants(demo.pid)
        assert len(started) >= 4, output.read_text()  # emulator, web, worker and beat, with their own workers

        demo.send_signal(signal.SIGTERM)  # what `kill` sends, and make passes on to the demo
        demo.wait(timeout=60)

        assert _wait_until(lambda: not any(map(_alive, started)), 10), [pid for pid in started if _alive(pid)]
        assert _port_free(web_port) and _port_free(emulator_port)
        assert "Demo stopped." in output.read_text()
    finally:
        demo.kill()
        demo.wait()
        _kill_leftovers(started)
