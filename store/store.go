// Package store is dangol's PostgreSQL access: the schema (embedded
// migrations) and one method per query. Nothing else in dangol writes SQL.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a row does not exist; the API maps it to 404.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write collides with different existing
// data under the same key; the API maps it to 409.
var ErrConflict = errors.New("conflict")

// Store wraps the process's one connection pool.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects and pings, because pgxpool connects lazily and a bad URL
// should fail at start-up, not on the first request.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWith(ctx, url, PoolOptions{})
}

// PoolOptions size the pool and bound its statements; zero values leave
// the URL's (or pgx's) choice.
type PoolOptions struct {
	// MaxConns overrides pool_max_conns of the URL.
	MaxConns int32
	// StatementTimeout is set as PostgreSQL's statement_timeout in each
	// connection's start-up packet: the server cancels a statement that
	// runs longer, even when the client that sent it is gone, at no extra
	// round trip.
	StatementTimeout time.Duration
}

// OpenWith is Open with the pool's options.
func OpenWith(ctx context.Context, url string, o PoolOptions) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
		cfg.MinConns = min(cfg.MinConns, o.MaxConns)
	}
	if o.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(o.StatementTimeout.Milliseconds(), 1), 10)
	}
	return OpenConfig(ctx, cfg)
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database is reachable (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Migrate applies the embedded migrations; it is safe to run at every
// deploy and from several processes (tern takes an advisory lock).
func Migrate(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate: load: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// notFound turns pgx's no-rows into ErrNotFound in one place.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// inTx runs fn in a transaction, committing only if it returns nil, so an
// API request that fails half-way writes nothing.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

func itoa(n int) string { return strconv.Itoa(n) }

// Pool exposes the pool to tests and benchmarks that check the data with
// their own SQL.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
