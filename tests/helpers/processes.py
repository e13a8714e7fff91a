"""Child processes with a known footprint, for the process-stats tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BURNER = textwrap.dedent(
    """
    import sys, time
    block = bytearray(int(sys.argv[1]) * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    print("ready", flush=True)
    end = time.time() + float(sys.argv[2])
    x = 0
    while time.time() < end:
        x += 1
    """
)
"""Holds argv[1] MiB (touched, so resident) and spins one CPU for argv[2] seconds."""


def start_burner(mb: int = 64, seconds: float = 30.0) -> subprocess.Popen[str]:
    """A child holding `mb` MiB and spinning one CPU; returns once it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-c", BURNER, str(mb), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc
