-- ClickHouse text of store/sql/reads/endpoint_performance.sql: HTTP server spans per
-- service, method and route in [$start, $end] (DuckDB's quantile_cont is
-- quantileExactInclusive).
WITH h AS (
    SELECT
        ServiceName AS service,
        Duration AS duration,
        coalesce(crewscope_attr(SpanAttributes, 'http.request.method'),
                 crewscope_attr(SpanAttributes, 'http.method')) AS method,
        coalesce(crewscope_attr(SpanAttributes, 'http.route'), '(no route)') AS route,
        toInt32OrNull(coalesce(crewscope_attr(SpanAttributes, 'http.response.status_code'),
                               crewscope_attr(SpanAttributes, 'http.status_code'))) AS status
    FROM otel_traces
    WHERE Timestamp BETWEEN $start AND $end
      AND SpanKind = 'Server'
      AND ($service IS NULL OR ServiceName = $service)
)
SELECT
    service,
    method,
    route,
    count(*) AS requests,
    countIf(status BETWEEN 400 AND 499) AS client_errors,
    countIf(status >= 500) AS server_errors,
    100.0 * countIf(status BETWEEN 400 AND 499) / count(*) AS client_error_rate,
    100.0 * countIf(status >= 500) / count(*) AS server_error_rate,
    avg(duration) / 1e6 AS avg_ms,
    quantileExactInclusive(0.5)(duration) / 1e6 AS p50_ms,
    quantileExactInclusive(0.9)(duration) / 1e6 AS p90_ms,
    quantileExactInclusive(0.99)(duration) / 1e6 AS p99_ms
FROM h
GROUP BY service, method, route
ORDER BY requests DESC, route, method
