"""The ClickHouse engine behind the storage seam (``crewscope serve --store clickhouse://...``
or ``chdb:///PATH``): the OpenTelemetry Collector ``clickhouseexporter``'s own tables, the
objects crewscope derives from them inside ClickHouse, and a `Session` over them."""
