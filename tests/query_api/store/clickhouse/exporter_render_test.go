// The clickhouseexporter's own rendering of its DDL, for test_exporter_ddl.py.
//
// Not built in this repository: the test copies the module (scripts/clickhouse_exporter_module.sh)
// to a scratch directory, drops the module's own tests, adds this file to package
// clickhouseexporter and runs it with `go test`, so the statements come from the
// exporter's real code (createTraceTables, createLogsTable with the server version,
// internal.CreateDatabase, metrics.NewMetricsTable, GenerateTTLExpr, clusterString,
// tableEngineString, database()) over a connection that only records what it is asked
// to execute.
//
// Input: $CREWSCOPE_RENDER_CASES, a JSON file with a list of renderCase.
// Output: $CREWSCOPE_RENDER_OUT, a JSON object {case name: [statement, ...]}.

package clickhouseexporter

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"go.uber.org/zap"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter/internal"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter/internal/metrics"
)

// recordingConn keeps every statement passed to Exec; other driver.Conn methods panic.
type recordingConn struct {
	driver.Conn
	server     proto.Version
	statements []string
}

func (c *recordingConn) Exec(_ context.Context, query string, _ ...any) error {
	c.statements = append(c.statements, query)
	return nil
}

func (c *recordingConn) ServerVersion() (*driver.ServerVersion, error) {
	return &driver.ServerVersion{Version: c.server}, nil
}

type renderCase struct {
	Name         string `json:"name"`
	Database     string `json:"database"`
	Cluster      string `json:"cluster"`
	EngineName   string `json:"engine_name"`
	EngineParams string `json:"engine_params"`
	TTLNanos     int64  `json:"ttl_nanos"`
	ServerMajor  uint64 `json:"server_major"`
	ServerMinor  uint64 `json:"server_minor"`
	TracesTable  string `json:"traces_table"`
	LogsTable    string `json:"logs_table"`
	MetricsTable string `json:"metrics_table"`
}

func TestCrewscopeRenderDDL(t *testing.T) {
	raw, err := os.ReadFile(os.Getenv("CREWSCOPE_RENDER_CASES"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []renderCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := map[string][]string{}
	for _, c := range cases {
		cfg := createDefaultConfig().(*Config)
		cfg.Endpoint = "tcp://127.0.0.1:9000"
		cfg.Database = c.Database
		cfg.ClusterName = c.Cluster
		cfg.TableEngine = TableEngine{Name: c.EngineName, Params: c.EngineParams}
		cfg.TTL = time.Duration(c.TTLNanos)
		if c.TracesTable != "" {
			cfg.TracesTableName = c.TracesTable
		}
		if c.LogsTable != "" {
			cfg.LogsTableName = c.LogsTable
		}
		if c.MetricsTable != "" {
			cfg.MetricsTableName = c.MetricsTable
			cfg.MetricsTables = MetricTablesConfig{}
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		conn := &recordingConn{server: proto.Version{Major: c.ServerMajor, Minor: c.ServerMinor}}

		// As each exporter's start() does with create_schema: true.
		if err := internal.CreateDatabase(ctx, conn, cfg.database(), cfg.clusterString()); err != nil {
			t.Fatal(err)
		}
		if err := createTraceTables(ctx, cfg, conn); err != nil {
			t.Fatal(err)
		}
		if err := createLogsTable(ctx, cfg, conn, zap.NewNop()); err != nil {
			t.Fatal(err)
		}
		ttlExpr := internal.GenerateTTLExpr(cfg.TTL, "toDateTime(TimeUnix)")
		if err := metrics.NewMetricsTable(ctx, generateMetricTablesConfigMapper(cfg), cfg.database(),
			cfg.clusterString(), cfg.tableEngineString(), ttlExpr, conn); err != nil {
			t.Fatal(err)
		}
		out[c.Name] = conn.statements
	}
	encoded, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("CREWSCOPE_RENDER_OUT"), encoded, 0o600); err != nil {
		t.Fatal(err)
	}
}
