-- crewscope metric storage (DuckDB).
-- Tables and columns follow the OpenTelemetry Collector ClickHouse exporter's
-- otel_metrics_gauge / otel_metrics_sum / otel_metrics_histogram, so queries can move to
-- ClickHouse later. Differences, by design:
--   * Exemplars is a LIST(STRUCT) column instead of a ClickHouse Nested column
--     (Exemplars[i].TraceId here is "Exemplars.TraceId"[i] there).
--   * StartTimeUnix is NULL when the SDK gives none (gauges); 0 there.
--   * Min / Max are NULL when not recorded.
-- AggregationTemporality is the OTLP enum: 1 = DELTA, 2 = CUMULATIVE.
-- By default the in-process exporter asks for DELTA counters and histograms (only changed
-- series are written) and CUMULATIVE observable instruments (process stats).
-- The element type of each table's Exemplars: one exemplar of a data point. A column
-- declared with it holds the plain struct (DuckDB resolves the name when a table is created).
CREATE TYPE IF NOT EXISTS crewscope_exemplar AS STRUCT(
    "FilteredAttributes" MAP(VARCHAR, VARCHAR),
    "TimeUnix"           TIMESTAMP_NS,
    "Value"              DOUBLE,
    "SpanId"             VARCHAR,
    "TraceId"            VARCHAR
);

CREATE TABLE IF NOT EXISTS otel_metrics_gauge (
    "ResourceAttributes"    MAP(VARCHAR, VARCHAR),
    "ResourceSchemaUrl"     VARCHAR,
    "ScopeName"             VARCHAR,
    "ScopeVersion"          VARCHAR,
    "ScopeAttributes"       MAP(VARCHAR, VARCHAR),
    "ScopeDroppedAttrCount" UINTEGER,
    "ScopeSchemaUrl"        VARCHAR,
    "ServiceName"           VARCHAR,
    "MetricName"            VARCHAR NOT NULL,
    "MetricDescription"     VARCHAR,
    "MetricUnit"            VARCHAR,
    "Attributes"            MAP(VARCHAR, VARCHAR),
    "StartTimeUnix"         TIMESTAMP_NS,
    "TimeUnix"              TIMESTAMP_NS NOT NULL,
    "Value"                 DOUBLE,
    "Flags"                 UINTEGER,
    "Exemplars"             crewscope_exemplar[]
);

CREATE TABLE IF NOT EXISTS otel_metrics_sum (
    "ResourceAttributes"     MAP(VARCHAR, VARCHAR),
    "ResourceSchemaUrl"      VARCHAR,
    "ScopeName"              VARCHAR,
    "ScopeVersion"           VARCHAR,
    "ScopeAttributes"        MAP(VARCHAR, VARCHAR),
    "ScopeDroppedAttrCount"  UINTEGER,
    "ScopeSchemaUrl"         VARCHAR,
    "ServiceName"            VARCHAR,
    "MetricName"             VARCHAR NOT NULL,
    "MetricDescription"      VARCHAR,
    "MetricUnit"             VARCHAR,
    "Attributes"             MAP(VARCHAR, VARCHAR),
    "StartTimeUnix"          TIMESTAMP_NS,
    "TimeUnix"               TIMESTAMP_NS NOT NULL,
    "Value"                  DOUBLE,
    "Flags"                  UINTEGER,
    "Exemplars"              crewscope_exemplar[],
    "AggregationTemporality" INTEGER,
    "IsMonotonic"            BOOLEAN
);

CREATE TABLE IF NOT EXISTS otel_metrics_histogram (
    "ResourceAttributes"     MAP(VARCHAR, VARCHAR),
    "ResourceSchemaUrl"      VARCHAR,
    "ScopeName"              VARCHAR,
    "ScopeVersion"           VARCHAR,
    "ScopeAttributes"        MAP(VARCHAR, VARCHAR),
    "ScopeDroppedAttrCount"  UINTEGER,
    "ScopeSchemaUrl"         VARCHAR,
    "ServiceName"            VARCHAR,
    "MetricName"             VARCHAR NOT NULL,
    "MetricDescription"      VARCHAR,
    "MetricUnit"             VARCHAR,
    "Attributes"             MAP(VARCHAR, VARCHAR),
    "StartTimeUnix"          TIMESTAMP_NS,
    "TimeUnix"               TIMESTAMP_NS NOT NULL,
    "Count"                  UBIGINT,
    "Sum"                    DOUBLE,
    "BucketCounts"           UBIGINT[],
    "ExplicitBounds"         DOUBLE[],
    "Exemplars"              crewscope_exemplar[],
    "Flags"                  UINTEGER,
    "Min"                    DOUBLE,
    "Max"                    DOUBLE,
    "AggregationTemporality" INTEGER
);
