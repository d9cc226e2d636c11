// Command dangol runs the retention engine: `serve` (REST API and
// Temporal worker, together or as --role api|worker), `migrate`, and
// `apikey create`. Configuration comes from the environment (see README).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/config"
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
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level(cfg.LogLevel)})))
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
		fs := flag.NewFlagSet("apikey", flag.ExitOnError)
		name := fs.String("name", "", "a name saying who uses the key")
		if len(os.Args) < 3 || os.Args[2] != "create" {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		_ = fs.Parse(os.Args[3:])
		err = createKey(ctx, cfg, *name)
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

func level(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

func createKey(ctx context.Context, cfg config.Config, name string) error {
	if name == "" {
		return errors.New("--name is required")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := st.CreateAPIKey(ctx, name)
	if err != nil {
		return err
	}
	fmt.Println(key)
	return nil
}

func serve(ctx context.Context, cfg config.Config, role string) error {
	if role != "all" && role != "api" && role != "worker" {
		return fmt.Errorf("--role %q: want all, api or worker", role)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := client.DialContext(ctx, client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(slog.Default()),
	})
	if err != nil {
		return fmt.Errorf("temporal %s: %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()

	errc := make(chan error, 2)
	if role == "all" || role == "worker" {
		acts, err := buildActivities(cfg, st)
		if err != nil {
			return err
		}
		acts.Temporal, acts.TaskQueue = tc, cfg.TaskQueue
		w := worker.New(tc, cfg.TaskQueue, acts)
		if err := w.Start(); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		defer w.Stop()
		slog.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress)
	}
	if role == "all" || role == "api" {
		if err := ensureSchedules(ctx, cfg, st, tc); err != nil {
			return err
		}
		srv := &http.Server{
			Addr: cfg.HTTPAddr,
			Handler: (&api.Server{
				Store: st, Temporal: tc, TaskQueue: cfg.TaskQueue,
				TwilioAuthToken: cfg.Twilio.AuthToken, PublicBaseURL: cfg.PublicBaseURL,
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

// ensureSchedules brings Temporal's schedules in line with the database at
// start-up: the nightly grading job, and one enrolment sweep per audience
// program (a program created while Temporal was down gets its schedule
// here).
func ensureSchedules(ctx context.Context, cfg config.Config, st *store.Store, tc client.Client) error {
	if err := schedules.EnsureGrades(ctx, tc, cfg.TaskQueue, cfg.Grades.Hour, cfg.Grades.TimeZone, cfg.Grades.Rules); err != nil {
		return fmt.Errorf("grades schedule: %w", err)
	}
	if err := schedules.EnsureReconcile(ctx, tc, cfg.TaskQueue, schedules.ReconcileEvery, activities.ReconcileRequest{}); err != nil {
		return fmt.Errorf("reconcile schedule: %w", err)
	}
	ps, err := st.ListPrograms(ctx, "", "")
	if err != nil {
		return err
	}
	for _, p := range ps {
		params, err := programs.Decode(p.Kind, p.Params)
		if err != nil {
			return fmt.Errorf("program %d: %w", p.ID, err)
		}
		seg, ok := params.(programs.Segment)
		switch {
		case !ok:
		case p.Status == store.ProgramStopped:
			err = schedules.DeleteSweep(ctx, tc, p.ID)
		default:
			err = schedules.EnsureSweep(ctx, tc, cfg.TaskQueue, p.ID, seg.SweepSettings(), p.Status == store.ProgramPaused)
		}
		if err != nil {
			return fmt.Errorf("program %d schedule: %w", p.ID, err)
		}
	}
	return nil
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
	}, nil
}
