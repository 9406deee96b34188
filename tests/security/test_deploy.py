"""Deployment: the demo leaves nothing running once stopped; locks, image and compose install and start as intended."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

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
        # The first sync mirrored both systems: the Cloud workspace and the Data Center site's projects.
        synced = output.read_text()
        site = f"127.0.0.1:{emulator_port}~bitbucket"
        for handle in ("acme", f"PLAT@{site}", f"~alice@{site}"):
            assert re.search(rf"^{re.escape(handle)}: full sync #\d+ succeeded", synced, re.M), synced

        demo.send_signal(signal.SIGTERM)  # what `kill` sends, and make passes on to the demo
        demo.wait(timeout=60)

        assert _wait_until(lambda: not any(map(_alive, started)), 10), [pid for pid in started if _alive(pid)]
        assert _port_free(web_port) and _port_free(emulator_port)
        assert "Demo stopped." in output.read_text()
    finally:
        demo.kill()
        demo.wait()
        _kill_leftovers(started)


# --- Locks: every requirement pinned with its hash; installs take nothing else --------------------------------------


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """Each pinned package of a lock: its version and how many hashes vouch for it."""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        if line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
        elif line and not line[0].isspace() and not line.startswith("#"):
            requirement = Requirement(line.rstrip(" \\"))
            (pin,) = requirement.specifier
            assert pin.operator == "==", line
            name = canonicalize_name(requirement.name)
            pins[name] = (Version(pin.version), 0)
    return pins


def _assert_pinned(requirements: list[str], pins: dict[str, tuple[Version, int]], lock: str) -> None:
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} lacks {text}: run make lock"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), f"{lock}: {name} {pins[name][0]}"


def test_locks_pin_every_requirement_of_pyproject_with_hashes():
    project = _pyproject()
    runtime = project["project"]["dependencies"] + project["build-system"]["requires"]
    development = runtime + project["project"]["optional-dependencies"]["dev"]
    dev_pins, runtime_pins = _pins(ROOT / "requirements/lock.txt"), _pins(ROOT / "requirements/runtime.txt")

    _assert_pinned(development, dev_pins, "requirements/lock.txt")
    _assert_pinned(runtime, runtime_pins, "requirements/runtime.txt")
    assert all(hashes for _, hashes in [*dev_pins.values(), *runtime_pins.values()])
    assert "pytest" not in runtime_pins  # the image carries no dev tools


def test_runtime_lock_pins_the_versions_the_tests_run():
    dev_pins = _pins(ROOT / "requirements/lock.txt")
    runtime_pins = _pins(ROOT / "requirements/runtime.txt")
    assert {name: pin[0] for name, pin in runtime_pins.items()} == {name: dev_pins[name][0] for name in runtime_pins}


def _pip_installs(commands: str) -> list[str]:
    return [line for line in commands.splitlines() if re.search(r"\bpip install\b", line)]


def test_make_install_takes_only_locked_hash_checked_packages():
    recipe = subprocess.run(
        ["make", "--dry-run", "--always-make", "install"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    installs = _pip_installs(recipe)

    assert any("--require-hashes -r requirements/lock.txt" in line for line in installs), recipe
    # The project itself comes after, from what the lock brought: nothing fetched from an index, nothing unchecked.
    assert all("--require-hashes" in line or "--no-index" in line for line in installs), installs


# --- The image ------------------------------------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in _dockerfile():
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def _run_steps() -> list[str]:
    """Every shell command of the RUN instructions, one per `&&` step."""
    runs = [arguments for instruction, arguments in _dockerfile() if instruction == "RUN"]
    return [step.strip() for arguments in runs for step in arguments.split("&&")]


def test_dockerfile_installs_the_runtime_lock_then_the_project_not_editable():
    installs = _pip_installs("\n".join(_run_steps()))

    assert installs[0].endswith("--require-hashes -r requirements/runtime.txt"), installs
    assert all("--require-hashes" in line or "--no-index" in line for line in installs), installs
    project = installs[-1]
    assert shlex.split(project)[-1] == "." and "-e" not in shlex.split(project) and "--editable" not in project


def test_dockerfile_collectstatic_step_runs_with_no_secret_and_keeps_none(tmp_path):
    """The build step as written, with the container's paths under tmp_path: the settings need no secret from the
    build, and the signing key they make for themselves lives in a folder the same RUN deletes."""
    steps = _run_steps()
    (collect,) = [step for step in steps if "collectstatic" in step]
    words = shlex.split(collect)
    assignments = dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("-"))
    command = [word for word in words if word not in {f"{key}={value}" for key, value in assignments.items()}]
    assert command == ["python", "manage.py", "collectstatic", "--noinput"]
    image_env = _dockerfile_env()
    assert not {"DJANGO_SECRET_KEY", "BBDASH_ENCRYPTION_KEYS"} & image_env.keys()  # nothing for run time to reuse
    build_var = assignments["BBDASH_VAR_DIR"]
    assert f"rm -rf {build_var}" in steps[steps.index(collect) + 1 :]

    def inside(path: str) -> Path:
        return tmp_path / path.lstrip("/")

    env = {key: str(inside(value)) if value.startswith("/") else value for key, value in image_env.items()}
    env |= {key: str(inside(value)) for key, value in assignments.items()}
    env |= {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert (inside(image_env["BBDASH_STATIC_ROOT"]) / "css" / "bbdash.css").is_file()
    assert (inside(build_var) / "secret_key").is_file()  # the throwaway one, deleted with its folder


def test_image_static_files_live_outside_the_var_volume():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    volume_paths = {mount.split(":")[1] for mount in compose["x-app"]["volumes"]}
    static_root = _dockerfile_env()["BBDASH_STATIC_ROOT"]

    # A volume keeps the first image's copy and would hide every later image's files.
    assert not any(Path(static_root).is_relative_to(path) for path in volume_paths)
    for name in ("web", "worker", "beat", "migrate"):
        assert compose["services"][name]["environment"].get("BBDASH_STATIC_ROOT", static_root) == static_root


# --- docker compose -------------------------------------------------------------------------------------------------


def test_compose_app_services_start_after_migrate_completed():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]

    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends_on["postgres"] == depends_on["redis"] == {"condition": "service_healthy"}, name


def test_compose_and_image_run_the_commands_make_demo_runs():
    from dashboard.management.commands.demo import service_commands

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    expected = service_commands(bind="0.0.0.0:8000")
    (cmd,) = [json.loads(arguments) for instruction, arguments in _dockerfile() if instruction == "CMD"]

    assert {name: services[name]["command"] for name in expected} == expected
    assert cmd == expected["web"]
