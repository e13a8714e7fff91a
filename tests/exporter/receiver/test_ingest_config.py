"""Malformed ``CREWSCOPE_INGEST_*`` settings are a clear `ConfigError`, not a bare ValueError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crewscope.exporter.receiver.config import ConfigError
from crewscope.query_api.app import create_app

BAD = [
    ("CREWSCOPE_INGEST_MAX_BYTES", "abc", "whole number of bytes"),
    ("CREWSCOPE_INGEST_MAX_BYTES", "0", "at least 1"),
    ("CREWSCOPE_INGEST_QUEUE_SPANS", "-5", "at least 1"),
    ("CREWSCOPE_INGEST_QUEUE_SPANS", "1e6", "whole number of spans"),
    ("CREWSCOPE_INGEST_DECODE_WORKERS", "x", "whole number of processes"),
    ("CREWSCOPE_INGEST_DECODE_WORKERS", "-1", "at least 0"),
    ("CREWSCOPE_INGEST_MAX_INFLIGHT", "many", "whole number of requests"),
    ("CREWSCOPE_INGEST_MAX_INFLIGHT", "0", "at least 1"),
    ("CREWSCOPE_INGEST_COMMIT_TIMEOUT_S", "soon", "number of seconds greater than 0"),
    ("CREWSCOPE_INGEST_COMMIT_TIMEOUT_S", "-1", "number of seconds greater than 0"),
    ("CREWSCOPE_INGEST_COMMIT_TIMEOUT_S", "nan", "number of seconds greater than 0"),
]


@pytest.mark.parametrize(("name", "value", "expected"), BAD)
def test_create_app_names_the_bad_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    db = tmp_path / "bad.duckdb"
    with pytest.raises(ConfigError) as raised:
        create_app(str(db), rollup_interval_s=0, retention_days=None)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert message.startswith(f"{name}={value!r} is not valid: expected "), message
    assert expected in message and "default" in message
    assert (raised.value.name, raised.value.value) == (name, value)
    assert not db.exists()  # checked before the file is opened: nothing left open or created


def test_good_and_empty_settings_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CREWSCOPE_INGEST_MAX_BYTES": " 1024 ",
        "CREWSCOPE_INGEST_QUEUE_SPANS": "77",
        "CREWSCOPE_INGEST_MAX_INFLIGHT": "3",
        "CREWSCOPE_INGEST_COMMIT_TIMEOUT_S": "2.5",
        "CREWSCOPE_INGEST_DECODE_WORKERS": "0",
        "CREWSCOPE_INGEST_TOKEN": "",
    }.items():
        monkeypatch.setenv(name, value)
    receiver = _receiver_of(tmp_path / "ok.duckdb")
    assert receiver.config.max_body_bytes == 1024
    assert receiver.config.max_inflight == 3
    assert receiver.config.commit_timeout_s == 2.5
    assert receiver.config.token is None
    assert receiver.queue.max_queued_spans == 77
    assert receiver.decode_pool is None
    monkeypatch.setenv("CREWSCOPE_INGEST_MAX_BYTES", "")  # empty = the default
    assert _receiver_of(tmp_path / "ok2.duckdb").config.max_body_bytes == 16 * 1024 * 1024


def _receiver_of(db: Path) -> Any:
    """The receiver `create_app` configured (the app is closed again, never started)."""
    app = create_app(str(db), rollup_interval_s=0, retention_days=None, self_telemetry=False)
    app.state.telemetry.shutdown()
    app.state.receiver.close()
    app.state.db.close()
    return app.state.receiver
