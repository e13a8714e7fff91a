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
    map_type = maps.type
    entries = maps.cast(pa.list_(pa.struct([map_type.key_field, map_type.item_field])))
    flat = entries.flatten()  # the slice's entries, none of a null map
    rows = pc.list_parent_indices(entries).cast(pa.int64())
    keys, items = flat.field(0), flat.field(1)
    keep = pc.fill_null(pc.not_equal(keys, TENANT_ATTRIBUTE), True)
    # Kept entries in their order, each row's tenant entry after them: a stable sort by
    # row * 2 (kept) and row * 2 + 1 (the tenant's).
    row_ids = pa.array(range(n), pa.int64())
    sort_key = pa.concat_arrays(
        [pc.multiply(pc.filter(rows, keep), 2), pc.add(pc.multiply(row_ids, 2), 1)]
    )
    order = pc.sort_indices(sort_key)  # stable
    all_keys = pa.concat_arrays(
        [pc.filter(keys, keep).cast(pa.string()), pa.array([TENANT_ATTRIBUTE] * n, pa.string())]
    )
    all_items = pa.concat_arrays(
        [pc.filter(items, keep).cast(pa.string()), pa.array([tenant] * n, pa.string())]
    )
    # each row ends with its tenant entry (the odd keys, in row order)
    ends = pc.indices_nonzero(pc.bit_wise_and(pc.take(sort_key, order), 1))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.add(ends, 1).cast(pa.int32())])
    return pa.MapArray.from_arrays(
        offsets,
        pc.take(all_keys, order).cast(map_type.key_type),
        pc.take(all_items, order).cast(map_type.item_type),
        type=map_type,
    )
