package bench

import (
	"context"
	"errors"
	"fmt"
	"github.com/dangol/dangol/internal/apiclient"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
)

// Config is what a run measures and how big.
type Config struct {
	// N is how many customers the enrolment section enrols (and how many
	// bare workflows its baseline starts).
	N int
	// K is how many sleeping enrolments (and bare sleeping workflows) the
	// worker memory section holds.
	K int
	// Purchases and PurchaseTime bound each side of the purchase ingest
	// section: it stops at whichever comes first.
	Purchases    int
	PurchaseTime time.Duration
	// StartConcurrency is the client concurrency of the enrolment
	// baseline: the sweep's (activities.startConcurrency, 32).
	StartConcurrency int
	// IngestConcurrency is how many purchases are in flight at once.
	IngestConcurrency int
	// Settle is the pause before each memory reading, so that the
	// worker's last workflow tasks and their garbage are behind it.
	Settle time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Quick is the default run's size: `make bench` in minutes on a
// two-core machine.
func Quick() Config {
	return Config{N: 20_000, K: 20_000, Purchases: 3_000, PurchaseTime: 30 * time.Second, StartConcurrency: 32, IngestConcurrency: 16, Settle: 2 * time.Second}
}

// Scale1M is the full-size run: a million enrolments, a hundred thousand
// sleeping in the worker.
func Scale1M() Config {
	c := Quick()
	c.N, c.K, c.Purchases, c.PurchaseTime = 1_000_000, 100_000, 20_000, 2*time.Minute
	return c
}

// Env is the running stack a section measures on.
type Env struct {
	Config
	// DSN and Store: dangol's migrated database, settings stored.
	DSN   string
	Store *store.Store
	// TemporalHostPort and Temporal: the dev server, and a client of it.
	TemporalHostPort string
	Temporal         client.Client
	// TaskQueue is the queue the API starts enrolments on; a dangol
	// worker process (StartWorker(ctx, WorkerDangol, env.TaskQueue))
	// polls it and its control queue.
	TaskQueue string
	// APIURL and APIKey: dangol's REST API on loopback.
	APIURL string
	APIKey string
	// StandinURL is the Twilio stand-in the worker sends SMS to.
	StandinURL string
	// MailPort is the loopback port of the mail catcher the worker sends
	// mail to.
	MailPort int
	// HTTP is the client for the API, with room for every concurrent
	// request to keep its connection.
	HTTP *http.Client

	dir     string // worker logs
	api     *http.Server
	standin *twiliostandin.Server
	sHTTP   *http.Server
	catcher *smtpmock.Server
	fleets  map[fleetKey]*Fleet
	seq     int
}

// Twilio credentials the worker uses with the stand-in (Twilio's shapes).
const (
	accountSID = "ACbe0c0000000000000000000000000000"
	authToken  = "be0c0000000000000000000000000000"
	fromNumber = "+15005550006"
	linkSecret = "bench-link-secret-0123456789abcdef-0123456789"
)

// Start brings up the stack: PostgreSQL and the Temporal dev server from
// internal/testenv (throwaway, on free ports, so a run never meets a `make
// dev` stack's state or ports), dangol's database migrated with
// test-neutral settings (no quiet hours), the Twilio stand-in, a mail
// catcher, and the API
// on a loopback port. Close stops it all.
func Start(ctx context.Context, cfg Config) (env *Env, err error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	e := &Env{Config: cfg, TaskQueue: "bench", fleets: map[fleetKey]*Fleet{}}
	defer func() {
		if err != nil {
			e.Close(true)
		}
	}()
	if e.dir, err = os.MkdirTemp("", "dangol-bench-"); err != nil {
		return nil, err
	}
	e.logf("starting PostgreSQL and the Temporal dev server")
	if e.DSN, err = testenv.NewDatabase(); err != nil {
		return nil, err
	}
	if e.TemporalHostPort, err = testenv.StartTemporal(); err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, e.DSN); err != nil {
		return nil, err
	}
	if e.Store, err = store.Open(ctx, e.DSN); err != nil {
		return nil, err
	}
	if _, err := e.Store.PutSettings(ctx, testenv.AnyHourSettings(), "bench"); err != nil {
		return nil, err
	}
	if e.APIKey, err = e.Store.CreateAPIKey(ctx, "bench"); err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if e.Temporal, err = client.DialContext(ctx, client.Options{HostPort: e.TemporalHostPort, Logger: tlog.NewStructuredLogger(quiet)}); err != nil {
		return nil, err
	}

	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.APIURL = "http://" + apiLn.Addr().String()
	e.api = &http.Server{Handler: (&api.Server{
		Store: e.Store, Temporal: e.Temporal, TaskQueue: e.TaskQueue, TwilioAuthToken: authToken,
		PublicBaseURL: e.APIURL, LinkSecret: []byte(linkSecret), Logger: quiet,
	}).Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.api.Serve(apiLn) }()

	sLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.StandinURL = "http://" + sLn.Addr().String()
	e.standin = twiliostandin.New(twiliostandin.Options{AuthToken: authToken, Logger: quiet})
	e.sHTTP = &http.Server{Handler: e.standin, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.sHTTP.Serve(sLn) }()

	e.catcher = smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1", MultipleMessageReceiving: true})
	if err := e.catcher.Start(); err != nil {
		e.catcher = nil
		return nil, fmt.Errorf("mail catcher: %w", err)
	}
	e.MailPort = e.catcher.PortNumber()

	e.HTTP = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
	return e, nil
}

// Close stops the stack; keepLogs keeps the servers' and workers' logs
// (after a failure) and says where they are.
func (e *Env) Close(keepLogs bool) {
	if e.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = e.api.Shutdown(ctx)
		cancel()
	}
	if e.sHTTP != nil {
		_ = e.sHTTP.Close()
		e.standin.Close()
	}
	if e.catcher != nil {
		_ = e.catcher.Stop()
	}
	if e.Temporal != nil {
		e.Temporal.Close()
	}
	if e.Store != nil {
		e.Store.Close()
	}
	if err := testenv.StopAll(keepLogs); err != nil {
		e.logf("stopping the servers: %v", err)
	}
	if e.dir != "" {
		if keepLogs {
			e.logf("worker logs kept in %s", e.dir)
		} else {
			_ = os.RemoveAll(e.dir)
		}
	}
}

func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.Log, "bench: "+format+"\n", args...)
}

// next returns a number no earlier call returned, for names a section
// makes its own (task queues, workflow ids, customer ids).
func (e *Env) next() int {
	e.seq++
	return e.seq
}

// errTimeout marks a run that did not finish in the time it was given.
var errTimeout = errors.New("timed out")

// API makes an authenticated request to dangol's API, checks the status
// and decodes the JSON answer into out (when not nil).
func (e *Env) API(ctx context.Context, want int, method, path string, body, out any) error {
	return apiclient.Do(ctx, e.HTTP, e.APIURL, e.APIKey, want, method, path, body, out)
}
