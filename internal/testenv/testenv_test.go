package testenv_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRepoRoot(t *testing.T) {
	root := testenv.RepoRoot()
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv")); err != nil {
		t.Fatalf("RepoRoot() = %s, which has no internal/testenv: %v", root, err)
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	dsn1, dsn2 := testenv.Postgres(t), testenv.Postgres(t)
	if dsn1 == dsn2 {
		t.Fatalf("two calls returned the same database %s", dsn1)
	}
	c1, err := pgx.Connect(ctx, dsn1)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close(ctx)
	var one int
	if err := c1.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}

	// The databases are separate and empty.
	if _, err := c1.Exec(ctx, "CREATE TABLE only_in_first (id int)"); err != nil {
		t.Fatal(err)
	}
	c2, err := pgx.Connect(ctx, dsn2)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	var n int
	if err := c2.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database has %d tables (%v), want 0", n, err)
	}
}

func TestTemporal(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	hostPort := testenv.Temporal(t)
	if again := testenv.Temporal(t); again != hostPort {
		t.Fatalf("second call returned %s, want the shared server %s", again, hostPort)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: hostPort})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ProgramId", "CustomerId", "ProgramKind"} {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			t.Errorf("search attribute %s is not registered (have %v)", name, resp.GetCustomAttributes())
		}
	}
}
