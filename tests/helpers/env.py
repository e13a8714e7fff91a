"""The network guard and the environment for test subprocesses."""

from __future__ import annotations

import os
from pathlib import Path

NETGUARD_DIR = Path(__file__).resolve().parents[1] / "_netguard"
"""Holds the guard's ``sitecustomize.py``: on PYTHONPATH, it loads in every subprocess."""


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a test subprocess: the same guard and offline settings."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env
