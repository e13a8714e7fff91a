-- HTTP server spans per service, method and route in [$start, $end].
WITH h AS (
    SELECT
        "ServiceName",
        "Duration",
        coalesce("SpanAttributes"['http.request.method'], "SpanAttributes"['http.method']) AS method,
        coalesce("SpanAttributes"['http.route'], '(no route)') AS route,
        TRY_CAST(coalesce(
            "SpanAttributes"['http.response.status_code'], "SpanAttributes"['http.status_code']
        ) AS INTEGER) AS status
    FROM otel_traces
    WHERE "Timestamp" BETWEEN $start AND $end
      AND "SpanKind" = 'Server'
      AND ($service IS NULL OR "ServiceName" = $service)
)
SELECT
    "ServiceName" AS service,
    method,
    route,
    count(*) AS requests,
    count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS client_errors,
    count(*) FILTER (WHERE status >= 500) AS server_errors,
    100.0 * count(*) FILTER (WHERE status BETWEEN 400 AND 499) / count(*) AS client_error_rate,
    100.0 * count(*) FILTER (WHERE status >= 500) / count(*) AS server_error_rate,
    avg("Duration") / 1e6 AS avg_ms,
    quantile_cont("Duration", 0.5) / 1e6 AS p50_ms,
    quantile_cont("Duration", 0.9) / 1e6 AS p90_ms,
    quantile_cont("Duration", 0.99) / 1e6 AS p99_ms
FROM h
GROUP BY ALL
ORDER BY requests DESC, route, method
