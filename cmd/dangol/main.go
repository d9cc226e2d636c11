// Command dangol runs the retention engine: `serve` (REST API and
// Temporal worker, together or as --role api|worker), `migrate`, and
// `apikey create|list|revoke`, `customer erase`. Configuration comes from the environment
// (see README).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/demo"
	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/worker"
)

const usage = `usage: dangol <command> [flags]

commands:
  serve [--role all|api|worker]   run the REST API and/or the Temporal worker
  migrate                         apply database migrations
  apikey create --name NAME       create an API key and print it
  apikey list                     list API keys (id, name, created, revoked)
  apikey revoke --id ID           revoke an API key; it gets 401 at once
  customer erase ID [--by NAME]   erase a customer's personal data (ID: the store's
                                  external id); their enrolments end in the background
  demo                            seed a small demo store (40 customers with purchase histories)
  env                             list the environment variables and defaults
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dangol: config:", err)
		os.Exit(2)
	}
	slog.SetDefault(newLogger(os.Stderr, cfg))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		role := fs.String("role", "all", "all, api or worker")
		_ = fs.Parse(os.Args[2:])
		err = serve(ctx, cfg, *role)
	case "migrate":
		err = store.Migrate(ctx, cfg.DatabaseURL)
		if err == nil {
			fmt.Println("migrations applied")
		}
	case "apikey":
		if len(os.Args) < 3 {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		err = apikey(ctx, cfg, os.Stdout, os.Args[2], os.Args[3:])
	case "customer":
		if len(os.Args) < 3 {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		err = customer(ctx, cfg, os.Stdout, os.Args[2], os.Args[3:])
	case "demo":
		err = seedDemo(ctx, cfg)
	case "env":
		for _, v := range config.Vars {
			fmt.Printf("%-20s %-58q %s\n", v.Name, v.Default, v.Doc)
		}
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		slog.Error("dangol failed", "command", os.Args[1], "error", err)
		os.Exit(1)
	}
}

// newLogger is the process's logger: JSON, one object a line, for log
// collectors; text for a person at a terminal (make dev sets LOG_FORMAT=text).
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level(cfg.LogLevel)}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func level(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// seedDemo fills the database with the demo store (see package demo).
func seedDemo(ctx context.Context, cfg config.Config) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := demo.Seed(ctx, st, time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("demo store: %d customers (%d lapsed 90+ days, %d dormant 1+ year, %d birthdays in the next 7 days), %d new purchases\n",
		sum.Customers, sum.Lapsed, sum.Dormant, sum.BirthdaysThisWeek, sum.Purchases)
	if sum.SettingsStored {
		fmt.Println("settings: stored the demo sender (단골상점, 02-555-0100, 080-555-0100); see GET /v1/settings")
	}
	return nil
}

// apikey runs `dangol apikey create|list|revoke`, printing to out.
func apikey(ctx context.Context, cfg config.Config, out io.Writer, cmd string, args []string) error {
	fs := flag.NewFlagSet("apikey "+cmd, flag.ContinueOnError)
	name := fs.String("name", "", "create: a name saying who uses the key")
	id := fs.Int64("id", 0, "revoke: the key's id (see apikey list)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case cmd == "create" && *name == "":
		return errors.New("--name is required")
	case cmd == "revoke" && *id <= 0:
		return errors.New("--id is required")
	case cmd != "create" && cmd != "list" && cmd != "revoke":
		return fmt.Errorf("apikey %s: want create, list or revoke", cmd)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch cmd {
	case "create":
		key, err := st.CreateAPIKey(ctx, *name)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, key)
	case "list":
		keys, err := st.ListAPIKeys(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-6s %-30s %-25s %s\n", "ID", "NAME", "CREATED", "REVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(out, "%-6d %-30s %-25s %s\n", k.ID, k.Name, k.CreatedAt.Format(time.RFC3339), revoked)
		}
	case "revoke":
		k, err := st.RevokeAPIKey(ctx, *id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no API key with id %d", *id)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked key %d (%s) at %s\n", k.ID, k.Name, k.RevokedAt.Format(time.RFC3339))
	}
	return nil
}

func serve(ctx context.Context, cfg config.Config, role string) error {
	if role != "all" && role != "api" && role != "worker" {
		return fmt.Errorf("--role %q: want all, api or worker", role)
	}
	if string(cfg.LinkSecret) == config.DevLinkSecret {
		slog.Warn("DANGOL_LINK_SECRET is the development default: anyone can sign unsubscribe links; set a secret of your own")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := temporalOptions(cfg)
	opts.MetricsHandler = metrics.TemporalHandler()
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("temporal %s: %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = ensureSearchAttributes(sctx, tc.OperatorService(), cfg.TemporalAddress, cfg.TemporalNamespace)
	cancel()
	if err != nil {
		return err
	}

	errc := make(chan error, 3)
	// /metrics: on a listener of its own when METRICS_ADDR is set (the
	// only way a --role worker process is scraped), else on the API's.
	var apiMetrics http.Handler
	switch {
	case cfg.MetricsAddr != "":
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			slog.Info("metrics listening", "addr", cfg.MetricsAddr)
			if err := msrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
		defer func() { _ = msrv.Close() }()
	case role == "worker":
		slog.Warn("METRICS_ADDR is not set: this worker's metrics are not served")
	default:
		apiMetrics = metrics.Handler()
	}
	if role == "all" || role == "worker" {
		acts, err := buildActivities(cfg, st)
		if err != nil {
			return err
		}
		acts.Temporal, acts.TaskQueue = tc, cfg.TaskQueue
		worker.SetStickyCacheSize(cfg.Worker.StickyCacheSize)
		w := worker.NewTuned(tc, cfg.TaskQueue, acts, worker.Tuning{
			WorkflowPollers: cfg.Worker.WorkflowPollers, ActivityPollers: cfg.Worker.ActivityPollers,
			MaxActivities: cfg.Worker.MaxActivities, MaxWorkflowTasks: cfg.Worker.MaxWorkflowTasks,
			SMSPerSecond: cfg.Worker.SMSPerSecond,
		})
		if err := w.Start(); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		defer w.Stop()
		slog.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace,
			"tls", cfg.Temporal.TLS != nil, "sms_per_second", cfg.Worker.SMSPerSecond, "sticky_cache_size", cfg.Worker.StickyCacheSize)
	}
	if role == "all" || role == "api" {
		go ensureSchedules(ctx, cfg, st, tc)
		srv := &http.Server{
			Addr: cfg.HTTPAddr,
			Handler: (&api.Server{
				Store: st, Temporal: tc, TaskQueue: cfg.TaskQueue,
				TwilioAuthToken: cfg.Twilio.AuthToken, PublicBaseURL: cfg.PublicBaseURL,
				LinkSecret: cfg.LinkSecret, Metrics: apiMetrics,
			}).Handler(),
			ReadHeaderTimeout: 10 * time.Second,
		}
		go func() {
			slog.Info("api listening", "addr", cfg.HTTPAddr)
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}
	select {
	case <-ctx.Done():
		slog.Info("shutting down")
		return nil
	case err := <-errc:
		return err
	}
}

// ensureSchedules brings Temporal's schedules in line with the database:
// the nightly grading job, and one enrolment sweep per audience program (a
// program created while Temporal was down gets its schedule here). It runs
// in the background of start-up, so one schedule that does not answer
// cannot keep dangol from serving: each failure is logged and retried with
// backoff until every schedule is in place. A program whose stored params
// no longer decode is skipped with a log line; it cannot affect the others.
func ensureSchedules(ctx context.Context, cfg config.Config, st *store.Store, tc client.Client) {
	wait := time.Second
	for {
		failed := ensureSchedulesOnce(ctx, cfg, st, tc)
		if failed == 0 {
			slog.Info("schedules in place")
			return
		}
		slog.Warn("some schedules are not in place yet; retrying", "failed", failed, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// ensureSchedulesOnce tries every schedule once, each under its own
// timeout, and returns how many failed.
func ensureSchedulesOnce(ctx context.Context, cfg config.Config, st *store.Store, tc client.Client) (failed int) {
	try := func(what string, fn func(context.Context) error) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := fn(cctx); err != nil {
			failed++
			slog.Error("ensure schedule", "schedule", what, "error", err)
		}
	}
	try("grades", func(ctx context.Context) error {
		return schedules.EnsureGrades(ctx, tc, cfg.TaskQueue, cfg.Grades.Hour, cfg.Grades.TimeZone, cfg.Grades.Rules)
	})
	try("reconcile", func(ctx context.Context) error {
		return schedules.EnsureReconcile(ctx, tc, cfg.TaskQueue, schedules.ReconcileEvery, activities.ReconcileRequest{})
	})
	try("consent-notices", func(ctx context.Context) error {
		return schedules.EnsureConsentNotices(ctx, tc, cfg.TaskQueue, schedules.ConsentNoticesEvery)
	})
	try("report-rollups", func(ctx context.Context) error {
		return schedules.EnsureReportRollups(ctx, tc, cfg.TaskQueue, schedules.ReportRollupsEvery)
	})
	try("report-mails", func(ctx context.Context) error {
		set, err := st.Settings(ctx)
		if errors.Is(err, store.ErrSettingsBroken) {
			// Left as the last good settings made it; the PUT that
			// repairs them moves it.
			slog.Error("settings cannot be read; the report mail schedule is left as it is", "error", err)
			return nil
		} else if err != nil {
			return err
		}
		return schedules.EnsureReportMails(ctx, tc, cfg.TaskQueue, set)
	})
	ps, err := st.ListPrograms(ctx, "", "")
	if err != nil {
		slog.Error("ensure schedules: list programs", "error", err)
		return failed + 1
	}
	for _, p := range ps {
		params, err := programs.Decode(p.Kind, p.Params)
		if err != nil {
			slog.Error("program cannot be read; its schedule is left as it is", "program_id", p.ID, "error", err)
			continue
		}
		seg, ok := params.(programs.Segment)
		switch {
		case !ok:
		case p.Status == store.ProgramStopped:
			try(fmt.Sprintf("program %d sweep", p.ID), func(ctx context.Context) error { return schedules.DeleteSweep(ctx, tc, p.ID) })
		default:
			try(fmt.Sprintf("program %d sweep", p.ID), func(ctx context.Context) error {
				return schedules.EnsureSweep(ctx, tc, cfg.TaskQueue, p.ID, seg.SweepSettings(), p.Status == store.ProgramPaused)
			})
		}
	}
	return failed
}

func buildActivities(cfg config.Config, st *store.Store) (*activities.Activities, error) {
	if cfg.Twilio.AccountSID == "" || cfg.Twilio.AuthToken == "" || cfg.Twilio.From == "" {
		return nil, errors.New("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are required to run the worker")
	}
	smsSender, err := sms.NewTwilio(sms.TwilioConfig{
		AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken, From: cfg.Twilio.From, APIBase: cfg.Twilio.APIBase,
	})
	if err != nil {
		return nil, err
	}
	mailSender, err := mail.NewSMTP(mail.SMTPConfig{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
		From: cfg.SMTP.From, TLS: cfg.SMTP.TLS, HeloName: cfg.SMTP.HeloName, Timeout: cfg.SMTP.Timeout,
	})
	if err != nil {
		return nil, err
	}
	return &activities.Activities{
		Store: st, SMS: smsSender, Mail: mailSender,
		StatusCallbackURL: strings.TrimRight(cfg.PublicBaseURL, "/") + "/webhooks/twilio/status",
		PublicBaseURL:     cfg.PublicBaseURL,
		LinkSecret:        cfg.LinkSecret,
	}, nil
}
