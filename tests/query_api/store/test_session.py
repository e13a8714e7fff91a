"""The storage seam: named parameters, slots, Arrow in and out, transactions."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from crewscope.query_api.store.query import Ident, QueryError, Where, inline
from crewscope.query_api.store.session import DuckDBSession

CREATE = inline("create", 'CREATE TABLE t ("Name" VARCHAR, "N" BIGINT)')
SELECT_WHERE = inline("select_where", 'SELECT "Name", "N" FROM {{table}} {{where}} ORDER BY "N"')
COUNT = inline("count", "SELECT count(*) FROM t")


@pytest.fixture
def session() -> DuckDBSession:
    s = DuckDBSession(duckdb.connect())
    s.execute(CREATE)
    s.append("t", pa.table({"Name": ["a", "b", "c"], "N": [1, 2, 3]}))
    return s


def test_slots_and_named_parameters(session: DuckDBSession) -> None:
    where = Where().add('"N" >= $min', min=2).add_if(None, '"Name" = $name', "name")
    rows = session.rows(SELECT_WHERE, table=Ident("t"), where=where)
    assert rows == [{"Name": "b", "N": 2}, {"Name": "c", "N": 3}]
    # a parameter the query does not use is not passed to the engine (DuckDB would refuse it)
    assert session.scalar(COUNT, {"unused": 1}) == 3
    table = session.arrow(SELECT_WHERE, table=Ident("t"), where=Where())
    assert table.column("Name").to_pylist() == ["a", "b", "c"]


def test_missing_parameter_or_slot_is_a_clear_error(session: DuckDBSession) -> None:
    with pytest.raises(QueryError, match=r"missing parameters \['min'\]"):
        session.rows(SELECT_WHERE, table=Ident("t"), where=Where().add('"N" >= $min'))
    with pytest.raises(QueryError, match="slots"):
        session.rows(SELECT_WHERE, table=Ident("t"))
    with pytest.raises(QueryError, match="not an identifier"):
        Ident('t"; DROP TABLE t; --')


def test_transaction_rolls_back_on_error(session: DuckDBSession) -> None:
    with pytest.raises(RuntimeError), session.transaction():
        session.append("t", pa.table({"Name": ["d"], "N": [4]}))
        raise RuntimeError("boom")
    assert session.scalar(COUNT) == 3
    with session.transaction():
        session.append("t", pa.table({"Name": ["d"], "N": [4]}))
    assert session.scalar(COUNT) == 4
