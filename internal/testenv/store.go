package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/store"
)

// Store returns an open store on a fresh, migrated database, and the
// database's DSN for tests that check data with their own SQL.
//
// The database's ids start at a random point: every test database of the
// process shares one Temporal server, and workflow ids are built from
// program, purchase and customer ids, so two tests (or -count=N reruns)
// must not produce the same ones.
func Store(t testing.TB) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	dsn := Postgres(t)
	if err := store.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	base := rand.Int64N(1e12) + 1e6
	for _, seq := range []string{"programs_id_seq", "purchases_id_seq", "enrolments_id_seq", "customers_id_seq"} {
		if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER SEQUENCE %s RESTART WITH %d", seq, base)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, dsn
}
