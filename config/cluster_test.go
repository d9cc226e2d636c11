package config_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/internal/testcerts"
)

// Each bad setting is refused at start-up by an error that names the
// variable to fix.
func TestClusterSettingsRefusedNamingTheVariable(t *testing.T) {
	certs := testcerts.New(t)
	for _, tc := range []struct {
		env  map[string]string
		want string // the error starts with this
	}{
		{map[string]string{"TEMPORAL_TLS_CERT": certs.ClientCertFile}, "TEMPORAL_TLS_KEY: required with TEMPORAL_TLS_CERT"},
		{map[string]string{"TEMPORAL_TLS_KEY": certs.ClientKeyFile}, "TEMPORAL_TLS_CERT: required with TEMPORAL_TLS_KEY"},
		{map[string]string{"TEMPORAL_TLS_CERT": "/nonexistent/cert.pem", "TEMPORAL_TLS_KEY": certs.ClientKeyFile}, "TEMPORAL_TLS_CERT: open /nonexistent/cert.pem"},
		{map[string]string{"TEMPORAL_TLS_CERT": certs.ClientCertFile, "TEMPORAL_TLS_KEY": certs.ServerKeyFile}, "TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: tls: private key does not match public key"},
		{map[string]string{"TEMPORAL_TLS_CA": certs.ClientKeyFile}, "TEMPORAL_TLS_CA: holds no PEM certificate"},
		{map[string]string{"TEMPORAL_TLS": "yes"}, `TEMPORAL_TLS: "yes" is not auto, on or off`},
		{map[string]string{"TEMPORAL_TLS": "off", "TEMPORAL_API_KEY": "k"}, "TEMPORAL_TLS: off, but TEMPORAL_API_KEY is set"},
		{map[string]string{"TEMPORAL_TLS": "off", "TEMPORAL_TLS_CA": certs.CAFile}, "TEMPORAL_TLS: off, but TEMPORAL_TLS_CA is set"},
		{map[string]string{"TEMPORAL_API_KEY": "has space"}, "TEMPORAL_API_KEY: is not an API key"},
		{map[string]string{"TEMPORAL_API_KEY": "ctl\x01"}, "TEMPORAL_API_KEY: is not an API key"},
		{map[string]string{"TEMPORAL_API_KEY": strings.Repeat("k", 8193)}, "TEMPORAL_API_KEY: is not an API key"},
		{map[string]string{"TEMPORAL_NAMESPACE": "a b"}, "TEMPORAL_NAMESPACE:"},
		{map[string]string{"TEMPORAL_NAMESPACE": strings.Repeat("n", 256)}, "TEMPORAL_NAMESPACE:"},
		{map[string]string{"DATABASE_MAX_CONNS": "0"}, `DATABASE_MAX_CONNS: "0" is not a whole number from 1 to 1000`},
		{map[string]string{"DATABASE_MAX_CONNS": "1001"}, "DATABASE_MAX_CONNS:"},
		{map[string]string{"DATABASE_MAX_CONNS": "ten"}, "DATABASE_MAX_CONNS:"},
		{map[string]string{"DATABASE_STATEMENT_TIMEOUT": "30"}, `DATABASE_STATEMENT_TIMEOUT: "30" is not 0 (none) or a duration`},
		{map[string]string{"DATABASE_STATEMENT_TIMEOUT": "10ms"}, "DATABASE_STATEMENT_TIMEOUT:"},
		{map[string]string{"DATABASE_STATEMENT_TIMEOUT": "25h"}, "DATABASE_STATEMENT_TIMEOUT:"},
		{map[string]string{"DATABASE_STATEMENT_TIMEOUT": "-1s"}, "DATABASE_STATEMENT_TIMEOUT:"},
		{map[string]string{"WORKER_WORKFLOW_POLLERS": "1"}, "WORKER_WORKFLOW_POLLERS:"},
		{map[string]string{"WORKER_ACTIVITY_POLLERS": "257"}, "WORKER_ACTIVITY_POLLERS:"},
		{map[string]string{"WORKER_MAX_ACTIVITIES": "0"}, "WORKER_MAX_ACTIVITIES:"},
		{map[string]string{"WORKER_MAX_WORKFLOW_TASKS": "100001"}, "WORKER_MAX_WORKFLOW_TASKS:"},
		{map[string]string{"WORKER_STICKY_CACHE_SIZE": "0"}, "WORKER_STICKY_CACHE_SIZE:"},
		{map[string]string{"WORKER_SMS_PER_SECOND": "-1"}, "WORKER_SMS_PER_SECOND:"},
		{map[string]string{"WORKER_SMS_PER_SECOND": "NaN"}, "WORKER_SMS_PER_SECOND:"},
		{map[string]string{"WORKER_SMS_PER_SECOND": "Inf"}, "WORKER_SMS_PER_SECOND:"},
		{map[string]string{"WORKER_SMS_PER_SECOND": "0.001"}, "WORKER_SMS_PER_SECOND:"},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		_, err := config.Load()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one starting %q", tc.env, err, tc.want)
		}
		for k := range tc.env {
			t.Setenv(k, "")
		}
	}
}

func TestClusterSettingsDefaultsLeaveTheDevStackAsItWas(t *testing.T) {
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Temporal.TLS != nil || cfg.Temporal.APIKey != "" {
		t.Errorf("TLS %v, API key %q by default; the dev server is plaintext", cfg.Temporal.TLS, cfg.Temporal.APIKey)
	}
	if cfg.Database.MaxConns != 0 || cfg.Database.StatementTimeout != 30*time.Minute {
		t.Errorf("database %+v, want pgx's pool size and a 30m statement timeout", cfg.Database)
	}
	want := config.Worker{WorkflowPollers: 8, ActivityPollers: 8, MaxActivities: 1000, MaxWorkflowTasks: 1000, StickyCacheSize: 10000}
	if cfg.Worker != want {
		t.Errorf("worker %+v, want %+v", cfg.Worker, want)
	}
}

func TestClusterSettingsRead(t *testing.T) {
	certs := testcerts.New(t)
	t.Setenv("TEMPORAL_TLS_CERT", certs.ClientCertFile)
	t.Setenv("TEMPORAL_TLS_KEY", certs.ClientKeyFile)
	t.Setenv("TEMPORAL_TLS_CA", certs.CAFile)
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", testcerts.ServerName)
	t.Setenv("TEMPORAL_NAMESPACE", "dangol-prod.a1b2c")
	t.Setenv("DATABASE_MAX_CONNS", "40")
	t.Setenv("DATABASE_STATEMENT_TIMEOUT", "45s")
	t.Setenv("WORKER_WORKFLOW_POLLERS", "16")
	t.Setenv("WORKER_ACTIVITY_POLLERS", "12")
	t.Setenv("WORKER_MAX_ACTIVITIES", "200")
	t.Setenv("WORKER_MAX_WORKFLOW_TASKS", "300")
	t.Setenv("WORKER_STICKY_CACHE_SIZE", "2000")
	t.Setenv("WORKER_SMS_PER_SECOND", "2.5")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	tls := cfg.Temporal.TLS
	if tls == nil || len(tls.Certificates) != 1 || tls.RootCAs == nil || tls.ServerName != testcerts.ServerName {
		t.Fatalf("TLS %+v: want the client certificate, the CA and the server name", tls)
	}
	if !tls.RootCAs.Equal(certs.CAPool) {
		t.Error("RootCAs is not the CA of TEMPORAL_TLS_CA")
	}
	if cfg.TemporalNamespace != "dangol-prod.a1b2c" {
		t.Errorf("namespace %q", cfg.TemporalNamespace)
	}
	if cfg.Database != (config.Database{MaxConns: 40, StatementTimeout: 45 * time.Second}) {
		t.Errorf("database %+v", cfg.Database)
	}
	want := config.Worker{WorkflowPollers: 16, ActivityPollers: 12, MaxActivities: 200, MaxWorkflowTasks: 300, StickyCacheSize: 2000, SMSPerSecond: 2.5}
	if cfg.Worker != want {
		t.Errorf("worker %+v, want %+v", cfg.Worker, want)
	}

	// The PEM itself in the variable (a secret injected as an environment
	// variable) reads the same as the file.
	for _, name := range []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA"} {
		b, err := os.ReadFile(os.Getenv(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(name, string(b))
	}
	inline, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !inline.Temporal.TLS.RootCAs.Equal(certs.CAPool) || !inline.Temporal.TLS.Certificates[0].Leaf.Equal(certs.Client.Leaf) {
		t.Error("inline PEM read differently from the files")
	}
}

// An API key alone turns TLS on (system roots): it is never sent in the
// clear.
func TestAPIKeyTurnsTLSOn(t *testing.T) {
	t.Setenv("TEMPORAL_API_KEY", "eyJhbGciOi.abc-DEF_123")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Temporal.TLS == nil || cfg.Temporal.APIKey != "eyJhbGciOi.abc-DEF_123" {
		t.Fatalf("TLS %v, key %q", cfg.Temporal.TLS, cfg.Temporal.APIKey)
	}
	if cfg.Temporal.TLS.RootCAs != nil || len(cfg.Temporal.TLS.Certificates) != 0 {
		t.Error("an API key alone should use the system roots and no client certificate")
	}
	t.Setenv("TEMPORAL_API_KEY", "")
	t.Setenv("TEMPORAL_TLS", "on")
	if cfg, err := config.Load(); err != nil || cfg.Temporal.TLS == nil {
		t.Fatalf("TEMPORAL_TLS=on: TLS %v, %v", cfg.Temporal.TLS, err)
	}
}
