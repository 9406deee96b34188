"""Without a credential encryption key every entry point refuses to start and says how to make one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(command: list[str], var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "BBDASH_ENCRYPTION_KEYS"}
    environment.update({"BBDASH_VAR_DIR": str(var_dir), "DATABASE_URL": "", **env})
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-c", "import dashboard.wsgi"],
    ],
    ids=["check", "wsgi"],
)
def test_entry_point_without_key_refuses_with_a_clear_message(tmp_path, command):
    result = _run(command, tmp_path)
    assert result.returncode != 0
    assert "BBDASH_ENCRYPTION_KEYS is not set" in result.stderr
    assert "Fernet.generate_key()" in result.stderr
    assert not (tmp_path / "encryption_keys").exists()  # nothing makes a key behind the operator's back


@pytest.mark.slow
def test_celery_worker_without_key_stops_at_start(tmp_path):
    celery = str(Path(sys.executable).parent / "celery")
    result = _run([celery, "-A", "dashboard", "worker", "--pool", "solo"], tmp_path)
    assert result.returncode != 0
    assert "BBDASH_ENCRYPTION_KEYS is not set" in result.stdout + result.stderr


def test_key_file_in_var_dir_is_enough(tmp_path):
    key_file = tmp_path / "encryption_keys"
    key_file.write_text("# newest first\n" + _fresh_key() + "\n")
    result = _run([sys.executable, "manage.py", "check"], tmp_path)
    assert result.returncode == 0, result.stderr


def _fresh_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
