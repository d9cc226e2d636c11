// Package testenv gives integration tests real infrastructure: a throwaway
// PostgreSQL cluster and a Temporal dev server, each started at most once per
// test process and stopped by Main.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := testenv.Postgres(t)      // a fresh, empty database
//		hostPort := testenv.Temporal(t) // a shared dev server
//		...
//	}
//
// The servers' binaries must be installed; `make test` installs them. When
// they are missing the calling test fails (it never silently skips), unless
// the test binary runs with -short, in which case the test is skipped.
//
// On Linux the child processes get a parent-death signal, so they also go
// away when the test binary is killed (for example by a -timeout panic)
// before Main could stop them.
package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// modulePath identifies the repository's go.mod.
const modulePath = "github.com/dangol/dangol"

// errNotInstalled marks a missing server binary: tests fail on it (or skip
// with -short) with a hint to run `make test`.
var errNotInstalled = errors.New("not installed")

// Main runs the tests, then stops everything this package started, and
// exits with the tests' exit code. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := stopAll(code != 0); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
	}
	os.Exit(code)
}

// StopAll is Main's clean-up for a program that is not a test (cmd/bench):
// it stops the servers NewDatabase and StartTemporal started and removes
// their files, keeping the servers' logs when keepLogs is set (after a
// failure).
func StopAll(keepLogs bool) error { return stopAll(keepLogs) }

var (
	stopMu   sync.Mutex
	stoppers []func() error // run in reverse order by stopAll
)

func onStop(f func() error) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stoppers = append(stoppers, f)
}

// stopAll stops the servers and removes the work directory; after a failed
// run it keeps the servers' logs there and says where they are.
func stopAll(failed bool) error {
	stopMu.Lock()
	funcs := stoppers
	stoppers = nil
	stopMu.Unlock()
	var errs []error
	for i := len(funcs) - 1; i >= 0; i-- {
		if err := funcs[i](); err != nil {
			errs = append(errs, err)
		}
	}
	if dir := workDirIfCreated(); dir != "" {
		if failed {
			// Keep the small logs, drop the database files.
			_ = os.RemoveAll(filepath.Join(dir, "pg"))
			_ = os.RemoveAll(filepath.Join(dir, "run"))
			_ = os.Remove(filepath.Join(dir, ownerFile))
			fmt.Fprintf(os.Stderr, "testenv: server logs kept in %s\n", dir)
		} else if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// The work directory holds this process's cluster, sockets and logs.
const (
	workPrefix = "dangol-testenv-"
	ownerFile  = "owner.pid"
)

var (
	workOnce sync.Once
	workDir  string
	workErr  error
	workMu   sync.Mutex // guards workDir reads after creation
)

func workDirIfCreated() string {
	workMu.Lock()
	defer workMu.Unlock()
	return workDir
}

// getWorkDir creates the process's work directory on first use. It is
// traversable (not listable) by others so that the unprivileged postgres
// user can reach its own subdirectories when the tests run as root.
func getWorkDir() (string, error) {
	workOnce.Do(func() {
		removeStaleWorkDirs()
		dir, err := os.MkdirTemp("", workPrefix+"*")
		if err != nil {
			workErr = err
			return
		}
		err = os.Chmod(dir, 0o711)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
		}
		if err != nil {
			_ = os.RemoveAll(dir)
			workErr = err
			return
		}
		workMu.Lock()
		workDir = dir
		workMu.Unlock()
	})
	return workDir, workErr
}

// removeStaleWorkDirs deletes the database files of earlier test processes
// that died without running Main's cleanup (their servers died with them),
// and the logs of failed runs after a day.
func removeStaleWorkDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if errors.Is(err, fs.ErrNotExist) {
			// Logs kept after a failure (or a directory being set up).
			if fi, err := os.Stat(dir); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(dir)
			}
			continue
		}
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(dir, "pg"))
		_ = os.RemoveAll(filepath.Join(dir, "run"))
		_ = os.Remove(filepath.Join(dir, ownerFile))
	}
}

var (
	rootOnce sync.Once
	rootDir  string
)

// RepoRoot returns the repository's root directory: the first directory at
// or above the working directory (tests run in their package's directory)
// whose go.mod declares the dangol module. It panics if there is none.
func RepoRoot() string {
	dir, err := repoRoot()
	if err != nil {
		panic("testenv: " + err.Error())
	}
	return dir
}

func repoRoot() (string, error) {
	rootOnce.Do(func() {
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		// This source file's directory, unless built with -trimpath.
		if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
			starts = append(starts, filepath.Dir(file))
		}
		for _, start := range starts {
			if dir := findModuleRoot(start); dir != "" {
				rootDir = dir
				return
			}
		}
	})
	if rootDir == "" {
		return "", errors.New("cannot find the repository root: no go.mod declaring module " + modulePath + " at or above the working directory")
	}
	return rootDir, nil
}

func findModuleRoot(dir string) string {
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declaresModule(b) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func declaresModule(gomod []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == modulePath
		}
	}
	return false
}

// need turns a start error into the test's outcome: a missing binary fails
// the test with an install hint (skips it under -short); anything else
// fails it.
func need(t testing.TB, what string, err error) {
	t.Helper()
	if errors.Is(err, errNotInstalled) {
		if testing.Short() {
			t.Skipf("testenv: %s: %v (skipped in -short mode)", what, err)
		}
		t.Fatalf("testenv: %s: %v\nRun `make test` (it installs the test servers), or install them yourself.", what, err)
	}
	t.Fatalf("testenv: %s: %v", what, err)
}

// tailFile returns the last lines of a log file for error messages.
func tailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "\n--- last lines of " + path + " ---\n" + strings.Join(all, "\n")
}
