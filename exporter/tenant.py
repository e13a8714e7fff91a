"""The tenant a row belongs to: the ``crewscope.tenant`` resource attribute.

With an auth file, ``crewscope serve`` writes each tenant's data into that tenant's own store
and stamps every row it ingests with the tenant of the token that sent it (whatever the
client put there). An instrumented app writing its own file stamps its rows with
``CREWSCOPE_TENANT`` when that is set, so the file says whose data it holds.

Stamping works on the Arrow rows the exporters and the receiver already build (spans, metric
points and log records all have a ``ResourceAttributes`` map column), so every signal and
both write paths share it.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CREWSCOPE_TENANT = "CREWSCOPE_TENANT"
"""The tenant an instrumented app's in-process exporters stamp on every row they write."""
TENANT_ATTRIBUTE = "crewscope.tenant"
"""The resource attribute holding a row's tenant."""
TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""What a tenant may be called: it names files and databases, so lowercase letters, digits,
``-`` and ``_``, at most 63 characters, starting with a letter or digit."""
_COLUMN = "ResourceAttributes"


class TenantNameError(ValueError):
    """A tenant name outside `TENANT_NAME`."""


def check_tenant(name: str, where: str) -> str:
    """`name` if it is a valid tenant name, else `TenantNameError` saying `where` it was."""
    if not TENANT_NAME.fullmatch(name):
        raise TenantNameError(
            f"{where}: tenant {name!r} is not valid: expected lowercase letters, digits, '-' "
            "and '_', at most 63 characters, starting with a letter or digit"
        )
    return name


def env_tenant() -> str | None:
    """``CREWSCOPE_TENANT`` (None when unset or empty); raises `TenantNameError` if invalid."""
    raw = os.environ.get(CREWSCOPE_TENANT, "").strip()
    return check_tenant(raw, CREWSCOPE_TENANT) if raw else None


def stamp_table(table: pa.Table, tenant: str) -> pa.Table:
    """`table` with ``crewscope.tenant`` = `tenant` in every row's ``ResourceAttributes``
    (any value already there is replaced); a table without that column is returned as is."""
    index = table.schema.get_field_index(_COLUMN)
    if index < 0 or table.num_rows == 0:
        return table
    column = table.column(index)
    chunks = [_stamp_chunk(chunk, tenant) for chunk in column.chunks]
    return table.set_column(index, table.schema.field(index), pa.chunked_array(chunks, column.type))


def _stamp_chunk(maps: pa.Array, tenant: str) -> pa.Array:
    """`stamp_maps` of a plain map array, or of the distinct maps of a dictionary-encoded one
    (the receiver's ``ResourceAttributes``: one entry per resource, shared by its rows)."""
    if not isinstance(maps, pa.DictionaryArray):
        return stamp_maps(maps, tenant)
    dictionary, indices = maps.dictionary, maps.indices
    if indices.null_count:  # a row without a resource: point it at an empty map
        empty = pa.array([[]], dictionary.type)
        dictionary = pa.concat_arrays([dictionary, empty])
        indices = pc.fill_null(indices, pa.scalar(len(dictionary) - 1, indices.type))
    return pa.DictionaryArray.from_arrays(indices, stamp_maps(dictionary, tenant))


def stamp_maps(maps: pa.Array, tenant: str) -> pa.Array:
    """Each map of `maps` (a ``map<string, string>`` array) without `TENANT_ATTRIBUTE` and
    with it set to `tenant` as its last entry; a null map becomes one holding only that."""
    assert isinstance(maps, pa.MapArray), maps.type
    n = len(maps)
    offsets = maps.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    if maps.null_count:  # a null map's offsets may span nothing; count its entries as none
        valid = maps.is_valid().to_numpy(zero_copy_only=False)
        lengths = np.where(valid, np.diff(offsets), 0)
    else:
        lengths = np.diff(offsets)
    start = int(offsets[0])
    keys = maps.keys.slice(start, int(offsets[-1]) - start)
    items = maps.items.slice(start, int(offsets[-1]) - start)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    if maps.null_count:
        keep_row = np.repeat(lengths > 0, np.diff(offsets))
    else:
        keep_row = np.ones(len(rows), dtype=bool)
    not_tenant = pc.fill_null(pc.not_equal(keys, TENANT_ATTRIBUTE), True)
    keep = keep_row & not_tenant.to_numpy(zero_copy_only=False)
    kept = np.flatnonzero(keep)
    # Kept entries in their order, each row's tenant entry after them: sort by (row, last).
    order = np.argsort(
        np.concatenate([rows[kept] * 2, np.arange(n, dtype=np.int64) * 2 + 1]), kind="stable"
    )
    all_keys = pa.concat_arrays([keys.take(pa.array(kept)), pa.array([TENANT_ATTRIBUTE] * n)])
    all_items = pa.concat_arrays(
        [items.take(pa.array(kept)).cast(pa.string()), pa.array([tenant] * n, pa.string())]
    )
    counts = np.bincount(rows[kept], minlength=n) + 1
    new_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    order_arr = pa.array(order)
    return pa.MapArray.from_arrays(
        pa.array(new_offsets),
        all_keys.take(order_arr).cast(maps.type.key_type),
        all_items.take(order_arr).cast(maps.type.item_type),
        type=maps.type,
    )
