// Command twilio-standin serves the local Twilio Messages API stand-in for
// `make dev`: point TWILIO_API_BASE at it and dangol sends "SMS" that land
// here instead of on phones, with status callbacks like Twilio's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dangol/dangol/twiliostandin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "address to listen on")
	delay := flag.Duration("callback-delay", 200*time.Millisecond, "delay before each status change (sent, delivered) and its callback")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags]\n\n"+
			"Environment: TWILIO_AUTH_TOKEN, when set, is the only password accepted\n"+
			"and signs status callbacks; when empty any password is accepted.\n\n"+
			"Control: GET /_standin/messages; POST /_standin/reset; faults:\n"+
			"POST /_standin/fail {count,status,code,message}, /_standin/repeat-sid {count}\n"+
			"(answer with the last SID), /_standin/callbacks {enabled} (lose callbacks);\n"+
			"outages for a while: POST /_standin/faults {mode: 500|429|hang|none, for, retry_after, hang},\n"+
			"GET /_standin/faults (what was answered, early retries after a 429).\n\nFlags:\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *delay, os.Getenv("TWILIO_AUTH_TOKEN"), log); err != nil {
		log.Error("twilio stand-in stopped", "err", err)
		os.Exit(1)
	}
}

func run(addr string, delay time.Duration, token string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	standin := twiliostandin.New(twiliostandin.Options{AuthToken: token, CallbackDelay: delay, Logger: log})
	defer standin.Close()

	// Listening before serving reports a busy port as an error here rather
	// than from the goroutine, and logs the address actually bound.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: standin, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("twilio stand-in listening", "addr", ln.Addr().String(),
		"auth_token_required", token != "", "callback_delay", delay)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Restore default signal handling so a second Ctrl-C kills a shutdown
	// stuck on a slow client.
	stop()
	log.Info("twilio stand-in shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
