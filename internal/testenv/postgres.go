package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres returns the DSN of a fresh, empty database owned by the
// superuser "app" (trust auth, no password):
//
//	postgres://app@127.0.0.1:PORT/t_N?sslmode=disable
//
// The first call starts a throwaway PostgreSQL cluster for the whole test
// process (fsync off, random free port); Main stops it and deletes it. The
// database is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	c, err := postgresCluster()
	if err != nil {
		need(t, "PostgreSQL", err)
	}
	name, err := c.createDatabase()
	if err != nil {
		t.Fatalf("testenv: PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := c.dropDatabase(name); err != nil {
			t.Logf("testenv: dropping database %s: %v", name, err)
		}
	})
	return c.dsn(name)
}

// NewDatabase is Postgres for a program that is not a test (cmd/bench):
// the same cluster, started on first use; the database lives until
// StopAll removes the cluster.
func NewDatabase() (dsn string, err error) {
	c, err := postgresCluster()
	if err != nil {
		return "", fmt.Errorf("testenv: PostgreSQL: %w", err)
	}
	name, err := c.createDatabase()
	if err != nil {
		return "", fmt.Errorf("testenv: PostgreSQL: %w", err)
	}
	return c.dsn(name), nil
}

// postgresCluster starts the process's cluster on first use.
func postgresCluster() (*pgCluster, error) {
	pgOnce.Do(func() { pgc, pgErr = startPostgres() })
	return pgc, pgErr
}

var (
	pgOnce sync.Once
	pgc    *pgCluster
	pgErr  error
)

type pgCluster struct {
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed when the postmaster has exited
	log    string

	mu    sync.Mutex // guards admin and n
	admin *pgx.Conn  // to the "postgres" database, for CREATE/DROP DATABASE
	n     int
}

func (c *pgCluster) dsn(db string) string {
	return fmt.Sprintf("postgres://app@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// adminConn returns the maintenance connection, reconnecting if needed.
// Callers hold c.mu.
func (c *pgCluster) adminConn(ctx context.Context) (*pgx.Conn, error) {
	if c.admin != nil && !c.admin.IsClosed() {
		return c.admin, nil
	}
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return nil, err
	}
	c.admin = conn
	return conn, nil
}

func (c *pgCluster) createDatabase() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := c.adminConn(ctx)
	if err != nil {
		return "", fmt.Errorf("connecting to the test cluster: %w", err)
	}
	c.n++
	name := fmt.Sprintf("t_%d", c.n)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("CREATE DATABASE %s: %w", name, err)
	}
	return name, nil
}

func (c *pgCluster) dropDatabase(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := c.adminConn(ctx)
	if err != nil {
		return err
	}
	// FORCE ends connections a test left open (PostgreSQL 13+).
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return err
}

func (c *pgCluster) stop() error {
	c.mu.Lock()
	if c.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.admin.Close(ctx)
		cancel()
		c.admin = nil
	}
	c.mu.Unlock()
	// SIGINT is PostgreSQL's "fast" shutdown; SIGQUIT its "immediate" one.
	for _, step := range []struct {
		sig  os.Signal
		wait time.Duration
	}{{syscall.SIGINT, 15 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {os.Kill, 5 * time.Second}} {
		_ = c.cmd.Process.Signal(step.sig)
		select {
		case <-c.exited:
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("PostgreSQL (pid %d) did not exit", c.cmd.Process.Pid)
}

type notInstalledError struct{ msg string }

func (e *notInstalledError) Error() string { return e.msg }
func (e *notInstalledError) Is(target error) bool {
	return target == errNotInstalled
}

// findPostgres finds initdb and postgres on PATH, or in the usual
// per-version directories of Debian, RHEL and Homebrew (newest first).
func findPostgres() (initdb, postgres string, err error) {
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil {
		return initdb, postgres, nil
	}
	var dirs []string
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",
		"/usr/pgsql-*/bin",
		"/opt/homebrew/opt/postgresql@*/bin",
		"/usr/local/opt/postgresql@*/bin",
	} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	sort.SliceStable(dirs, func(i, j int) bool { return pgDirVersion(dirs[i]) > pgDirVersion(dirs[j]) })
	for _, dir := range dirs {
		i, p := filepath.Join(dir, "initdb"), filepath.Join(dir, "postgres")
		if isExecutable(i) && isExecutable(p) {
			return i, p, nil
		}
	}
	return "", "", &notInstalledError{"PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin"}
}

// pgDirVersion extracts the major version from paths like
// /usr/lib/postgresql/15/bin or /usr/pgsql-16/bin.
func pgDirVersion(dir string) int {
	s := filepath.Base(filepath.Dir(dir))
	if i := strings.LastIndexAny(s, "-@"); i >= 0 {
		s = s[i+1:]
	}
	v, _ := strconv.Atoi(strings.SplitN(s, ".", 2)[0])
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// serverUser returns the credentials to run PostgreSQL with: PostgreSQL
// refuses to run as root, so as root it runs as "postgres" (or "nobody").
// It returns nil when the tests do not run as root.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			errs = append(errs, fmt.Errorf("user %s: bad uid/gid %q/%q", name, u.Uid, u.Gid))
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("running as root and found no unprivileged user to run PostgreSQL as: %w", errors.Join(errs...))
}

func startPostgres() (*pgCluster, error) {
	initdb, postgres, err := findPostgres()
	if err != nil {
		return nil, err
	}
	dir, err := getWorkDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	data, sock := filepath.Join(dir, "pg"), filepath.Join(dir, "run")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	// A Unix socket path is limited to ~107 bytes; without one, TCP only.
	if len(sock)+len("/.s.PGSQL.65535") > 100 {
		sock = ""
	}

	initLog := filepath.Join(dir, "initdb.log")
	logf, err := os.Create(initLog)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(initdb, "-D", data, "-U", "app", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr(cred, syscall.SIGKILL)
	err = cmd.Run()
	logf.Close()
	if err != nil {
		return nil, fmt.Errorf("initdb: %v%s", err, tailFile(initLog, 20))
	}

	log := filepath.Join(dir, "postgres.log")
	for attempt := 1; ; attempt++ {
		c, err := launchPostgres(postgres, data, sock, dir, log, cred)
		if err == nil {
			onStop(c.stop)
			return c, nil
		}
		// Another process may have taken the free port we picked.
		if attempt == 3 || !errors.Is(err, errPortInUse) {
			return nil, err
		}
	}
}

var errPortInUse = errors.New("port in use")

func launchPostgres(postgres, data, sock, dir, log string, cred *syscall.Credential) (*pgCluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the server has its own copy
	cmd := exec.Command(postgres, "-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+sock,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
	)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT: immediate shutdown, should the test process die first.
	cmd.SysProcAttr = childAttr(cred, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	c := &pgCluster{port: port, cmd: cmd, exited: make(chan struct{}), log: log}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()

	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.dsn("postgres"))
		cancel()
		if err == nil {
			c.admin = conn
			return c, nil
		}
		select {
		case <-c.exited:
			tail := tailFile(log, 20)
			if strings.Contains(tail, "could not bind") || strings.Contains(tail, "already in use") {
				return nil, fmt.Errorf("%w: %s", errPortInUse, tail)
			}
			return nil, fmt.Errorf("postgres exited during startup: %v%s", cmd.ProcessState, tail)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = c.stop()
			return nil, fmt.Errorf("postgres not ready after a minute: %v%s", err, tailFile(log, 20))
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
