"""The network guard and the environment for test subprocesses."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

NETGUARD_DIR = Path(__file__).resolve().parents[1] / "_netguard"
"""Holds the guard's ``sitecustomize.py``: on PYTHONPATH, it loads in every subprocess."""

_NETGUARD_MODULE = "_crewscope_netguard"


def netguard() -> ModuleType:
    """The network guard, loaded once: from then on this process reaches only loopback.

    Its ``NetworkBlocked`` is what a blocked connection raises.
    """
    module = sys.modules.get(_NETGUARD_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            _NETGUARD_MODULE, NETGUARD_DIR / "sitecustomize.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NETGUARD_MODULE] = module
        spec.loader.exec_module(module)
    return module


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a test subprocess: the same guard and offline settings."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env
