"""Zero-code logs: ``opentelemetry-instrument --traces_exporter duckdb --logs_exporter duckdb``
with the SDK's logging handler (``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true``),
in a subprocess under the network guard: the tool's records land in otel_logs with the
ids of the tool span that was current, next to the spans in the same file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.exporter.test_log_exporter import assert_tool_logs_correlated
from tests.helpers.env import subprocess_env
from tests.integration import logs_app


def _run(tmp_path: Path, llm_server: object) -> str:
    db = tmp_path / "zero-logs.duckdb"
    bindir = Path(sys.executable).parent
    env = subprocess_env(
        FAKE_LLM_URL=llm_server.base_url,  # type: ignore[attr-defined]
        CREWSCOPE_DB=str(db),
        OTEL_SERVICE_NAME="zero-code-logs",
        OTEL_METRICS_EXPORTER="none",
        OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED="true",
        OPENAI_API_KEY="sk-local",
    )
    env.pop("OTEL_TRACES_EXPORTER", None)
    env.pop("OTEL_LOGS_EXPORTER", None)
    proc = subprocess.run(
        [
            str(bindir / "opentelemetry-instrument"),
            "--traces_exporter",
            "duckdb",
            "--logs_exporter",
            "duckdb",
            str(bindir / "python"),
            logs_app.__file__,
        ],  # fmt: skip
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["raw"]
    return str(db)


@pytest.fixture(scope="module")
def zero_code_db(tmp_path_factory: pytest.TempPathFactory, fake_llm: object) -> str:
    """One zero-code run shared by the tests of this module."""
    fake_llm.reset()  # type: ignore[attr-defined]
    return _run(tmp_path_factory.mktemp("zero-logs"), fake_llm)


@pytest.mark.timeout(300)
def test_zero_code_tool_logs_carry_the_tool_span_ids(zero_code_db: str) -> None:
    # The SDK's handler (level NOTSET, no filter) takes whatever the app's logging
    # configuration lets through, CrewAI's loggers included: crewscope's levels are
    # configure()'s.
    assert_tool_logs_correlated(
        zero_code_db, service="zero-code-logs", run_columns=False, crewai_filtered=False
    )
    with duckdb.connect(zero_code_db, read_only=True) as con:
        [(n,)] = con.execute("SELECT count(*) FROM otel_traces").fetchall()
    assert n > 5  # spans and logs in one file


@pytest.mark.timeout(300)
def test_zero_code_tool_logs_carry_the_run_columns(zero_code_db: str) -> None:
    assert_tool_logs_correlated(
        zero_code_db, service="zero-code-logs", run_columns=True, crewai_filtered=False
    )
