"""Fresh venvs of this checkout, as a new user's `pip install` makes them, cached per machine.

Each venv is built once per machine in ``${CREWSCOPE_CACHE:-~/.cache/crewscope}/slim-venv/``
under a key made of pyproject.toml's project table and the Python version, so only a change
there rebuilds it (the first build downloads from PyPI; a test is skipped, with the reason,
only when PyPI is unreachable and nothing is cached). Every run reinstalls crewscope itself
into it from this checkout, offline and without dependencies, so the code under test is
always the current one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers.env import NETGUARD_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[2]
PYPROJECT: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))

SUBPROCESS_TIMEOUT_S = 1500  # a first `pip install crewai` on a slow 2-core machine
BUILD_TIMEOUT = pytest.mark.timeout(2 * SUBPROCESS_TIMEOUT_S)
"""A test's timeout covers building its venv (first run: ~15 s slim, ~2 min with crewai)."""


def real_home() -> Path:
    # tests/conftest.py points HOME at a temporary folder (for CrewAI): caches use the real one
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def cache_root() -> Path:
    configured = os.environ.get("CREWSCOPE_CACHE")
    return Path(configured) if configured else real_home() / ".cache" / "crewscope"


def venv_key() -> str:
    """Changes with what decides the installed set: the project table, the Python."""
    what = [PYPROJECT["project"], PYPROJECT["build-system"], sys.version, platform.machine()]
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def app_env(**extra: str) -> dict[str, str]:
    """An app's environment: offline CrewAI and temporary HOME (tests/conftest.py set both
    in this process), and the network guard, loaded as sitecustomize from PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PYTHONPATH"] = str(NETGUARD_DIR)
    return {**env, **extra}


def pip_env() -> dict[str, str]:
    """pip's environment: the real network (no test guard), the real HOME's pip cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.setdefault("PIP_CACHE_DIR", str(real_home() / ".cache" / "pip"))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # never the checkout as cwd: its crewscope.egg-info (the editable install) would be seen
    proc = subprocess.run(
        cmd, env=env, cwd=cwd or cache_root(), capture_output=True, text=True,
        timeout=SUBPROCESS_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


def pip(venv: Path, *args: str) -> None:
    run([str(venv / "bin" / "python"), "-m", "pip", "--quiet", *args], env=pip_env())


def require_pypi() -> None:
    """Skip when the package index cannot be reached (from a subprocess: this process's
    sockets are guarded)."""
    index = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"
    host = urlsplit(index).hostname or "pypi.org"
    probe = "import socket, sys; socket.create_connection((sys.argv[1], 443), timeout=10)"
    proc = subprocess.run(
        [sys.executable, "-c", probe, host], env=pip_env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(f"PyPI ({host}) is unreachable and the fresh venv is not cached: {reason}")


def copy_sources(dest: Path) -> Path:
    """A copy of what the build reads, so that building never writes into the checkout."""
    src = dest / "crewscope-src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for folder in sorted(set(PYPROJECT["tool"]["setuptools"]["package-dir"].values())):
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.duckdb*")
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    return src


def cached_venv(name: str, build: Callable[[Path], None]) -> tuple[Path, float | None]:
    """The venv ``name`` for this pyproject.toml; returns it and its build time if built now."""
    root = cache_root() / "slim-venv"
    path = root / f"{name}-{venv_key()}"
    complete = path / ".complete"
    if complete.exists():
        return path, None
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if complete.exists():
            return path, None
        require_pypi()
        started = time.monotonic()
        shutil.rmtree(path, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(path)])
        # setuptools and wheel in the venv: later runs rebuild crewscope offline
        pip(path, "install", "setuptools>=69", "wheel")
        build(path)
        seconds = time.monotonic() - started
        complete.write_text(json.dumps({"built_in_s": round(seconds, 1)}))
        for stale in root.glob(f"{name}-*"):  # venvs of older pyproject.toml versions
            if stale != path:
                shutil.rmtree(stale, ignore_errors=True)
    return path, seconds


def install_checkout(venv: Path, src: Path) -> None:
    """Replace the venv's crewscope with this checkout's code (offline, no dependencies)."""
    pip(venv, "install", "--no-deps", "--no-build-isolation", "--no-index",
        "--force-reinstall", str(src))  # fmt: skip


def checkout_venv(name: str, src: Path, build: Callable[[Path], None]) -> Path:
    """The cached venv ``name`` (built by ``build`` on a first run) with this checkout in it."""
    venv, built = cached_venv(name, build)
    started = time.monotonic()
    install_checkout(venv, src)
    how = f"built in {built:.0f}s" if built is not None else "cached"
    sys.stderr.write(
        f"\n[fresh-venv] {name} venv {how}; crewscope reinstalled in"
        f" {time.monotonic() - started:.1f}s\n"
    )
    return venv
