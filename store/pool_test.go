package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// DATABASE_MAX_CONNS and DATABASE_STATEMENT_TIMEOUT reach the pool: its
// size, and a statement_timeout PostgreSQL enforces (a longer statement
// is cancelled by the server with 57014).
func TestOpenWithSizesPoolAndBoundsStatements(t *testing.T) {
	ctx := context.Background()
	_, dsn := testenv.Store(t)
	st, err := store.OpenWith(ctx, dsn, store.PoolOptions{MaxConns: 3, StatementTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := st.Pool().Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
	var shown string
	if err := st.Pool().QueryRow(ctx, "SHOW statement_timeout").Scan(&shown); err != nil {
		t.Fatal(err)
	}
	if shown != "300ms" {
		t.Errorf("statement_timeout = %q, want 300ms", shown)
	}
	_, err = st.Pool().Exec(ctx, "SELECT pg_sleep(2)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("pg_sleep(2) under a 300ms statement timeout: %v, want query_canceled (57014)", err)
	}

	// Zero options leave the URL's choices: pool_max_conns, and no timeout.
	plain, err := store.OpenWith(ctx, dsn+"&pool_max_conns=5", store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if got := plain.Pool().Config().MaxConns; got != 5 {
		t.Errorf("MaxConns from the URL = %d, want 5", got)
	}
	if err := plain.Pool().QueryRow(ctx, "SHOW statement_timeout").Scan(&shown); err != nil {
		t.Fatal(err)
	}
	if shown != "0" {
		t.Errorf("statement_timeout without the option = %q, want 0", shown)
	}
}
