package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// TemporalBinEnv names the environment variable that points at the Temporal
// CLI; without it the tests use <repo root>/bin/temporal (`make test`
// installs it there).
const TemporalBinEnv = "DANGOL_TEMPORAL_BIN"

// SearchAttributes are the custom search attributes dangol's workflows use;
// the dev server registers them at startup.
var SearchAttributes = []string{"ProgramId=Keyword", "CustomerId=Keyword", "ProgramKind=Keyword"}

// Temporal returns the frontend host:port of a Temporal dev server (namespace
// "default", in-memory, with SearchAttributes registered). The first call
// starts it; it is shared by all tests of the process, so tests should use
// their own task queues and workflow IDs. Main stops it.
func Temporal(t testing.TB) (hostPort string) {
	t.Helper()
	hostPort, err := temporalServerHostPort()
	if err != nil {
		need(t, "Temporal dev server", err)
	}
	return hostPort
}

// StartTemporal is Temporal for a program that is not a test (cmd/bench):
// the same dev server, started on first use, stopped by StopAll.
func StartTemporal() (hostPort string, err error) {
	hostPort, err = temporalServerHostPort()
	if err != nil {
		return "", fmt.Errorf("testenv: Temporal dev server: %w", err)
	}
	return hostPort, nil
}

func temporalServerHostPort() (string, error) {
	temporalOnce.Do(func() { temporalSrv, temporalErr = startTemporal() })
	if temporalErr != nil {
		return "", temporalErr
	}
	return temporalSrv.hostPort, nil
}

var (
	temporalOnce sync.Once
	temporalSrv  *temporalServer
	temporalErr  error
)

type temporalServer struct {
	srv      *testsuite.DevServer
	hostPort string
	pidFile  string
}

// TemporalBinary is the Temporal CLI the dev server runs from (for a
// report's "which server" line).
func TemporalBinary() (string, error) { return temporalBinary() }

// temporalBinary returns the Temporal CLI to run.
func temporalBinary() (string, error) {
	if p := os.Getenv(TemporalBinEnv); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%s=%s is not an executable file", TemporalBinEnv, p)
		}
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "temporal")
	if !isExecutable(p) {
		return "", &notInstalledError{fmt.Sprintf("Temporal CLI not found at %s (or set %s)", p, TemporalBinEnv)}
	}
	return p, nil
}

// writeWrapper writes a shell script that records its PID (so that the
// server can be killed if the SDK cannot stop it) and then execs the CLI,
// under `setpriv --pdeathsig` where available so that the server dies with
// the test process.
func writeWrapper(dir, bin string) (wrapper, pidFile string, err error) {
	wrapper = filepath.Join(dir, "temporal-wrapper.sh")
	pidFile = filepath.Join(dir, "temporal.pid")
	prefix := ""
	if runtime.GOOS == "linux" {
		if sp, err := exec.LookPath("setpriv"); err == nil && exec.Command(sp, "--pdeathsig", "INT", "--", "true").Run() == nil {
			prefix = shellQuote(sp) + " --pdeathsig INT -- "
		}
	}
	script := "#!/bin/sh\necho $$ > " + shellQuote(pidFile) + "\nexec " + prefix + shellQuote(bin) + ` "$@"` + "\n"
	return wrapper, pidFile, os.WriteFile(wrapper, []byte(script), 0o755)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func startTemporal() (*temporalServer, error) {
	bin, err := temporalBinary()
	if err != nil {
		return nil, err
	}
	dir, err := getWorkDir()
	if err != nil {
		return nil, err
	}
	wrapper, pidFile, err := writeWrapper(dir, bin)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "temporal.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the server has its own copy

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: wrapper,
		ClientOptions: &client.Options{
			Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		},
		LogLevel:  "warn",
		LogFormat: "pretty",
		ExtraArgs: searchAttributeArgs(),
		Stdout:    logf,
		Stderr:    logf,
	})
	if err != nil {
		killPIDFile(pidFile)
		return nil, fmt.Errorf("starting %s: %v%s", bin, err, tailFile(logPath, 20))
	}
	s := &temporalServer{srv: srv, hostPort: srv.FrontendHostPort(), pidFile: pidFile}
	onStop(s.stop)
	return s, nil
}

func searchAttributeArgs() []string {
	var args []string
	for _, sa := range SearchAttributes {
		args = append(args, "--search-attribute", sa)
	}
	return args
}

func (s *temporalServer) stop() error {
	s.srv.Client().Close()
	done := make(chan error, 1)
	go func() { done <- s.srv.Stop() }() // SIGINT, then wait
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil // exited on our signal
		}
		return err
	case <-time.After(20 * time.Second):
		killPIDFile(s.pidFile)
		return errors.New("temporal dev server did not stop within 20s; killed it")
	}
}

func killPIDFile(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
