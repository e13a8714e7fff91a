-- A daily rollup table (one per grouping: the table and its name column from the slots).
CREATE TABLE IF NOT EXISTS {{table}} (
    "Day"          DATE NOT NULL,
    {{name_column}} VARCHAR NOT NULL,
    "Executions"   BIGINT NOT NULL,
    "Successful"   BIGINT NOT NULL,
    "Failed"       BIGINT NOT NULL,
    "SuccessRate"  DOUBLE,
    "SumMs"        DOUBLE NOT NULL,
    "AvgMs"        DOUBLE,
    "MinMs"        DOUBLE,
    "MaxMs"        DOUBLE,
    "P50Ms"        DOUBLE,
    "P95Ms"        DOUBLE,
    "P99Ms"        DOUBLE,
    "DurationsMs"  DOUBLE[] NOT NULL,
    "InputTokens"  BIGINT NOT NULL,
    "OutputTokens" BIGINT NOT NULL,
    "CostUsd"      DOUBLE,
    "RefreshedAt"  TIMESTAMP NOT NULL
);
