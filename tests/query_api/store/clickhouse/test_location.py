"""``--store`` values and ClickHouse literals."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from crewscope.query_api.store.clickhouse.literals import literal
from crewscope.query_api.store.clickhouse.location import StoreURLError, parse_store
from tests.helpers.chdb import chdb_client


def test_store_urls() -> None:
    assert parse_store("./x.duckdb").engine == "duckdb"
    ch = parse_store("clickhouse://bob:s%40cret@ch.local:8124/team")
    assert (ch.engine, ch.host, ch.port, ch.username, ch.password, ch.database) == (
        "clickhouse", "ch.local", 8124, "bob", "s@cret", "team",
    )  # fmt: skip
    assert "s@cret" not in ch.describe()
    assert parse_store("clickhouses://h/db").port == 8443
    emb = parse_store("chdb:///var/lib/cs?database=fleet")
    assert (emb.engine, emb.path, emb.database) == ("chdb", "/var/lib/cs", "fleet")
    assert parse_store("chdb:///d").database == "otel"
    for bad in ("mysql://h/db", "chdb://", "clickhouse:///db"):
        with pytest.raises(StoreURLError):
            parse_store(bad)


@pytest.mark.parametrize(
    "value",
    [
        "it's a \\ test -- $x %s {y}",
        datetime(2026, 1, 2, 3, 4, 5, 678901),
        datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2))),
        date(2026, 1, 2),
        -(2**63),
        1.5e-7,
        True,
        None,
        ["a", "b'c"],
    ],
)
def test_literals_round_trip(value: object) -> None:
    got = chdb_client().query(f"SELECT {literal(value)}").result_rows[0][0]
    if isinstance(value, datetime):
        want = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        got = got.replace(tzinfo=None) if got.tzinfo else got
        assert got == want
    else:
        assert got == value


def test_shared_texts_have_one_file() -> None:
    from importlib import resources

    from crewscope.query_api.store.clickhouse.queries import SHARED_TEXT, clickhouse_text

    root = resources.files("crewscope.query_api.store")
    for name in SHARED_TEXT:
        assert root.joinpath("sql", f"{name}.sql").is_file(), name
        assert not root.joinpath("clickhouse", "sql", f"{name}.sql").is_file(), name
        assert clickhouse_text(name) == root.joinpath("sql", f"{name}.sql").read_text("utf-8")
