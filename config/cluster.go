package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Temporal is how dangol reaches a Temporal frontend beyond the local dev
// server: a self-hosted cluster with TLS (and a client certificate), or
// Temporal Cloud with a client certificate or an API key.
type Temporal struct {
	// TLS is nil for plaintext (the dev server).
	TLS *tls.Config
	// APIKey, when set, is sent as a bearer token on every call (secret).
	APIKey string
}

// Database is the connection pool's sizing and the server-side bound on
// each statement.
type Database struct {
	// MaxConns is the pool's size; 0 leaves pgx's choice (pool_max_conns
	// in DATABASE_URL, else the larger of 4 and the number of CPUs).
	MaxConns int32
	// StatementTimeout is PostgreSQL's statement_timeout for every
	// connection of the pool; 0 is none.
	StatementTimeout time.Duration
}

// Worker is the Temporal worker's tuning (see README "Running at scale").
type Worker struct {
	WorkflowPollers  int
	ActivityPollers  int
	MaxActivities    int
	MaxWorkflowTasks int
	StickyCacheSize  int
	// SMSPerSecond caps SMS sends across all workers (the SMS task
	// queue's activities per second); 0 is no cap.
	SMSPerSecond float64
}

// Bounds of the cluster settings: a typo of a zero too many is refused at
// start-up instead of opening ten thousand connections.
const (
	MaxDatabaseConns        = 1000
	MaxStatementTimeout     = 24 * time.Hour
	MinStatementTimeout     = 100 * time.Millisecond
	MaxPollers              = 256
	MaxWorkerSlots          = 100_000
	MaxStickyCacheSize      = 1_000_000
	MaxSMSPerSecond         = 10_000
	maxAPIKeyLen            = 8192
	maxTemporalNamespaceLen = 255
)

// pemOrFile reads a PEM value given inline (it starts with -----BEGIN, for
// secrets injected as environment variables) or as a file path (for
// secrets mounted as files).
func pemOrFile(name string) ([]byte, error) {
	v := strings.TrimSpace(get(name))
	if strings.HasPrefix(v, "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func set(name string) bool { return get(name) != "" }

// loadTemporal builds the TLS configuration and credentials from the
// TEMPORAL_TLS* variables and TEMPORAL_API_KEY; every error names the
// variable to fix.
func loadTemporal() (Temporal, error) {
	var t Temporal
	ns := get("TEMPORAL_NAMESPACE")
	if len(ns) > maxTemporalNamespaceLen || strings.IndexFunc(ns, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return t, fmt.Errorf("TEMPORAL_NAMESPACE: %q is not a namespace name (letters, digits, '.', '-', '_'; at most %d)", ns, maxTemporalNamespaceLen)
	}
	if key := get("TEMPORAL_API_KEY"); key != "" {
		if len(key) > maxAPIKeyLen || strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return t, fmt.Errorf("TEMPORAL_API_KEY: is not an API key (printable ASCII without spaces, at most %d bytes)", maxAPIKeyLen)
		}
		t.APIKey = key
	}
	switch {
	case set("TEMPORAL_TLS_CERT") && !set("TEMPORAL_TLS_KEY"):
		return t, errors.New("TEMPORAL_TLS_KEY: required with TEMPORAL_TLS_CERT (the client certificate's private key)")
	case set("TEMPORAL_TLS_KEY") && !set("TEMPORAL_TLS_CERT"):
		return t, errors.New("TEMPORAL_TLS_CERT: required with TEMPORAL_TLS_KEY (the client certificate)")
	}
	mode := get("TEMPORAL_TLS")
	var on bool
	switch mode {
	case "auto":
		on = set("TEMPORAL_TLS_CERT") || set("TEMPORAL_TLS_CA") || set("TEMPORAL_TLS_SERVER_NAME") || t.APIKey != ""
	case "on":
		on = true
	case "off":
		for _, name := range []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_API_KEY"} {
			if set(name) {
				return t, fmt.Errorf("TEMPORAL_TLS: off, but %s is set (an API key or a certificate is never used without TLS)", name)
			}
		}
	default:
		return t, fmt.Errorf("TEMPORAL_TLS: %q is not auto, on or off", mode)
	}
	if !on {
		return t, nil
	}
	t.TLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: get("TEMPORAL_TLS_SERVER_NAME")}
	if set("TEMPORAL_TLS_CERT") {
		certPEM, err := pemOrFile("TEMPORAL_TLS_CERT")
		if err != nil {
			return t, err
		}
		keyPEM, err := pemOrFile("TEMPORAL_TLS_KEY")
		if err != nil {
			return t, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return t, fmt.Errorf("TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: %w", err)
		}
		t.TLS.Certificates = []tls.Certificate{cert}
	}
	if set("TEMPORAL_TLS_CA") {
		caPEM, err := pemOrFile("TEMPORAL_TLS_CA")
		if err != nil {
			return t, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return t, errors.New("TEMPORAL_TLS_CA: holds no PEM certificate")
		}
		t.TLS.RootCAs = pool
	}
	return t, nil
}

// intIn parses a whole number from min to max.
func intIn(name string, min, max int) (int, error) {
	n, err := strconv.Atoi(get(name))
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s: %q is not a whole number from %d to %d", name, get(name), min, max)
	}
	return n, nil
}

func loadDatabase() (Database, error) {
	var d Database
	if set("DATABASE_MAX_CONNS") {
		n, err := intIn("DATABASE_MAX_CONNS", 1, MaxDatabaseConns)
		if err != nil {
			return d, err
		}
		d.MaxConns = int32(n)
	}
	v := get("DATABASE_STATEMENT_TIMEOUT")
	to, err := time.ParseDuration(v)
	if err != nil || to != 0 && (to < MinStatementTimeout || to > MaxStatementTimeout) {
		return d, fmt.Errorf("DATABASE_STATEMENT_TIMEOUT: %q is not 0 (none) or a duration from %s to %s such as 30s or 30m", v, MinStatementTimeout, MaxStatementTimeout)
	}
	d.StatementTimeout = to
	return d, nil
}

func loadWorker() (Worker, error) {
	var w Worker
	var err error
	if w.WorkflowPollers, err = intIn("WORKER_WORKFLOW_POLLERS", 2, MaxPollers); err != nil {
		return w, err
	}
	if w.ActivityPollers, err = intIn("WORKER_ACTIVITY_POLLERS", 1, MaxPollers); err != nil {
		return w, err
	}
	if w.MaxActivities, err = intIn("WORKER_MAX_ACTIVITIES", 1, MaxWorkerSlots); err != nil {
		return w, err
	}
	// The SDK needs two workflow-task slots when the sticky cache is on.
	if w.MaxWorkflowTasks, err = intIn("WORKER_MAX_WORKFLOW_TASKS", 2, MaxWorkerSlots); err != nil {
		return w, err
	}
	if w.StickyCacheSize, err = intIn("WORKER_STICKY_CACHE_SIZE", 1, MaxStickyCacheSize); err != nil {
		return w, err
	}
	v := get("WORKER_SMS_PER_SECOND")
	rate, err := strconv.ParseFloat(v, 64)
	if err != nil || !(rate == 0 || rate >= 0.01 && rate <= MaxSMSPerSecond) {
		return w, fmt.Errorf("WORKER_SMS_PER_SECOND: %q is not 0 (no limit) or a number of messages a second from 0.01 to %d", v, MaxSMSPerSecond)
	}
	w.SMSPerSecond = rate
	return w, nil
}
