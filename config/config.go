// Package config reads dangol's settings from the environment. Every
// variable has a default that suits `make dev`; secrets have none.
package config

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/dangol/dangol/links"
	"github.com/dangol/dangol/store"
)

// Config is the whole process configuration.
type Config struct {
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	HTTPAddr          string
	// PublicBaseURL is how providers reach our webhooks; Twilio signs
	// callbacks over this URL, so it must match what the provider called.
	PublicBaseURL string
	Twilio        Twilio
	SMTP          SMTP
	LogLevel      string
	// LogFormat is json (the default) or text (make dev).
	LogFormat string
	// MetricsAddr, when set, serves /metrics on a listener of its own;
	// empty: /metrics is on HTTP_ADDR.
	MetricsAddr string
	Grades      Grades
	// LinkSecret signs the links customers follow (unsubscribe); see
	// package links.
	LinkSecret []byte
	// Temporal holds TLS and credentials for a real cluster or Temporal
	// Cloud; Database the pool; Worker the worker's tuning (cluster.go).
	Temporal Temporal
	Database Database
	Worker   Worker
}

// Grades is the nightly A/B/C grading job: when it runs and its rules.
type Grades struct {
	Hour     int    // 0-23, in TimeZone
	TimeZone string // IANA zone
	Rules    store.GradeRules
}

// Twilio holds the SMS provider settings.
type Twilio struct {
	AccountSID string
	AuthToken  string
	From       string
	// APIBase, when set, sends every Twilio API call to this base URL
	// instead of api.twilio.com (the local stand-in in dev and tests).
	APIBase string
}

// SMTP holds the mail relay settings.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	TLS      string // none, starttls or tls
	HeloName string
	Timeout  time.Duration
}

// Var documents one environment variable; Vars is the list the README and
// the docker-compose consistency test use.
type Var struct {
	Name, Default, Doc string
}

// Vars lists every variable Load reads, with its default.
var Vars = []Var{
	{"DATABASE_URL", "postgres://app@127.0.0.1:55432/dangol?sslmode=disable", "PostgreSQL connection string"},
	{"TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port"},
	{"TEMPORAL_NAMESPACE", "default", "Temporal namespace"},
	{"TEMPORAL_TASK_QUEUE", "dangol", "task queue the worker polls"},
	{"TEMPORAL_TLS", "auto", "auto (TLS when a certificate, CA, server name or API key is set), on or off"},
	{"TEMPORAL_TLS_CERT", "", "client certificate for mTLS: a PEM file path or the PEM itself"},
	{"TEMPORAL_TLS_KEY", "", "the client certificate's private key: a PEM file path or the PEM itself (secret)"},
	{"TEMPORAL_TLS_CA", "", "CA that signed the server's certificate (empty: the system's roots)"},
	{"TEMPORAL_TLS_SERVER_NAME", "", "name to verify the server's certificate against (empty: the host of TEMPORAL_ADDRESS)"},
	{"TEMPORAL_API_KEY", "", "Temporal Cloud API key, sent as a bearer token over TLS (secret)"},
	{"DATABASE_MAX_CONNS", "", "connection pool size, 1-1000 (empty: pool_max_conns in DATABASE_URL, else max(4, CPUs))"},
	{"DATABASE_STATEMENT_TIMEOUT", "30m", "PostgreSQL statement_timeout of every pooled connection, 100ms-24h, or 0 for none"},
	{"WORKER_WORKFLOW_POLLERS", "8", "workflow task pollers per task queue, 2-256"},
	{"WORKER_ACTIVITY_POLLERS", "8", "activity task pollers per task queue, 1-256"},
	{"WORKER_MAX_ACTIVITIES", "1000", "activities one worker runs at once per task queue, 1-100000"},
	{"WORKER_MAX_WORKFLOW_TASKS", "1000", "workflow tasks one worker runs at once per task queue, 2-100000"},
	{"WORKER_STICKY_CACHE_SIZE", "10000", "workflows kept in the process's sticky cache, 1-1000000"},
	{"WORKER_SMS_PER_SECOND", "0", "SMS sends a second across all workers (the sender's Twilio MPS); 0: no limit"},
	{"HTTP_ADDR", "127.0.0.1:8080", "address the REST API listens on"},
	{"PUBLIC_BASE_URL", "http://127.0.0.1:8080", "base URL providers use for webhooks (status callbacks)"},
	{"TWILIO_ACCOUNT_SID", "", "Twilio Account SID, AC and 32 hex digits (required to send SMS)"},
	{"TWILIO_AUTH_TOKEN", "", "Twilio auth token, 32 hex digits; also verifies webhook signatures (secret)"},
	{"TWILIO_FROM", "", "sender number in E.164"},
	{"TWILIO_API_BASE", "", "send Twilio API calls here instead of api.twilio.com (the stand-in)"},
	{"SMTP_HOST", "127.0.0.1", "SMTP relay host"},
	{"SMTP_PORT", "1025", "SMTP relay port"},
	{"SMTP_USERNAME", "", "SMTP user (empty: no auth)"},
	{"SMTP_PASSWORD", "", "SMTP password (secret)"},
	{"SMTP_FROM", "dangol@dangol.localhost", "From address of mail"},
	{"SMTP_TLS", "none", "none, starttls or tls"},
	{"SMTP_HELO", "dangol.localhost", "HELO/EHLO name (a domain)"},
	{"DANGOL_LINK_SECRET", DevLinkSecret, "signs customers' unsubscribe links, at least 32 bytes (secret; the default is for development only)"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"LOG_FORMAT", "json", "json (one JSON object a line) or text (make dev sets text)"},
	{"METRICS_ADDR", "", "address of a separate Prometheus /metrics listener (empty: /metrics on HTTP_ADDR, unauthenticated like /healthz)"},
	{"GRADES_HOUR", "3", "hour of day (0-23, in GRADES_TIME_ZONE) the A/B/C grading job runs"},
	{"GRADES_WINDOW_DAYS", "365", "days of purchases grades are computed over"},
	{"GRADES_A_TOP_SHARE", "0.2", "share of the window's buyers, by spend, graded A (0-1]"},
	{"GRADES_B_MIN_PURCHASES", "2", "purchases in the window that make a customer who is not A a B"},
	{"GRADES_TIME_ZONE", "Asia/Seoul", "IANA time zone of GRADES_HOUR"},
}

// DevLinkSecret is DANGOL_LINK_SECRET's default, so `make dev` works out of
// the box; with it anyone who reads this file can sign unsubscribe links,
// so dangol warns at start-up when it is in use.
const DevLinkSecret = "dangol-development-link-secret-not-for-production"

func get(name string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	for _, v := range Vars {
		if v.Name == name {
			return v.Default
		}
	}
	panic("config: undeclared variable " + name)
}

// Load reads the environment.
func Load() (Config, error) {
	port, err := strconv.Atoi(get("SMTP_PORT"))
	if err != nil {
		return Config{}, fmt.Errorf("SMTP_PORT: %w", err)
	}
	tls := get("SMTP_TLS")
	if tls != "none" && tls != "starttls" && tls != "tls" {
		return Config{}, fmt.Errorf("SMTP_TLS: %q is not none, starttls or tls", tls)
	}
	logFormat := get("LOG_FORMAT")
	if logFormat != "json" && logFormat != "text" {
		return Config{}, fmt.Errorf("LOG_FORMAT: %q is not json or text", logFormat)
	}
	grades, err := loadGrades()
	if err != nil {
		return Config{}, err
	}
	temporal, err := loadTemporal()
	if err != nil {
		return Config{}, err
	}
	database, err := loadDatabase()
	if err != nil {
		return Config{}, err
	}
	wk, err := loadWorker()
	if err != nil {
		return Config{}, err
	}
	linkSecret := get("DANGOL_LINK_SECRET")
	if len(linkSecret) < links.MinSecretLen {
		return Config{}, fmt.Errorf("DANGOL_LINK_SECRET: is %d bytes; it must be at least %d (e.g. openssl rand -hex 32)", len(linkSecret), links.MinSecretLen)
	}
	return Config{
		DatabaseURL:       get("DATABASE_URL"),
		TemporalAddress:   get("TEMPORAL_ADDRESS"),
		TemporalNamespace: get("TEMPORAL_NAMESPACE"),
		Temporal:          temporal,
		TaskQueue:         get("TEMPORAL_TASK_QUEUE"),
		Database:          database,
		Worker:            wk,
		HTTPAddr:          get("HTTP_ADDR"),
		PublicBaseURL:     get("PUBLIC_BASE_URL"),
		Twilio: Twilio{
			AccountSID: get("TWILIO_ACCOUNT_SID"),
			AuthToken:  get("TWILIO_AUTH_TOKEN"),
			From:       get("TWILIO_FROM"),
			APIBase:    get("TWILIO_API_BASE"),
		},
		SMTP: SMTP{
			Host:     get("SMTP_HOST"),
			Port:     port,
			Username: get("SMTP_USERNAME"),
			Password: get("SMTP_PASSWORD"),
			From:     get("SMTP_FROM"),
			TLS:      tls,
			HeloName: get("SMTP_HELO"),
			Timeout:  15 * time.Second,
		},
		LogLevel:    get("LOG_LEVEL"),
		LogFormat:   logFormat,
		MetricsAddr: get("METRICS_ADDR"),
		Grades:      grades,
		LinkSecret:  []byte(linkSecret),
	}, nil
}

func loadGrades() (Grades, error) {
	atoi := func(name string, min, max int) (int, error) {
		n, err := strconv.Atoi(get(name))
		if err != nil || n < min || n > max {
			return 0, fmt.Errorf("%s: %q is not a whole number from %d to %d", name, get(name), min, max)
		}
		return n, nil
	}
	var g Grades
	var err error
	if g.Hour, err = atoi("GRADES_HOUR", 0, 23); err != nil {
		return g, err
	}
	if g.Rules.WindowDays, err = atoi("GRADES_WINDOW_DAYS", 1, 36500); err != nil {
		return g, err
	}
	if g.Rules.BMinPurchases, err = atoi("GRADES_B_MIN_PURCHASES", 1, 1000000); err != nil {
		return g, err
	}
	share, err := strconv.ParseFloat(get("GRADES_A_TOP_SHARE"), 64)
	if err != nil || !(share > 0 && share <= 1) {
		return g, fmt.Errorf("GRADES_A_TOP_SHARE: %q is not a number more than 0 and at most 1", get("GRADES_A_TOP_SHARE"))
	}
	g.Rules.ATopShare = share
	g.TimeZone = get("GRADES_TIME_ZONE")
	if _, err := time.LoadLocation(g.TimeZone); err != nil {
		return g, fmt.Errorf("GRADES_TIME_ZONE: %q is not an IANA time zone such as Asia/Seoul", g.TimeZone)
	}
	return g, nil
}
