package api_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/internal/tcpproxy"
	"github.com/dangol/dangol/store"
)

// Defect: while PostgreSQL was down or restarting, every request was a 500
// "see the server log", so a client could not tell a passing outage from
// a bug. Now it is a 503 with Retry-After, and the purchase repeated once
// the database is back is recorded once. A closed pool is a 503 too.
func TestDatabaseDownIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678",
		"consent": map[string]any{"sms": grant(true, "pos")}}, nil)

	cfg := e.db.Config().ConnConfig
	// The proxy takes the database away as a restart does (connections
	// cut, new ones refused) and brings it back on the same address.
	px, err := tcpproxy.Listen("127.0.0.1:0", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	st, err := store.Open(ctx, fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, px.Addr(), cfg.Database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	url := e.serve(&api.Server{Store: st, Temporal: e.tc, TaskQueue: e.queue, TwilioAuthToken: twilioToken, LinkSecret: linkSecret})
	auth := map[string]string{"Authorization": "Bearer " + e.key}
	sale := purchase("o-1", "c-1", "가전", time.Now().Add(-time.Minute))
	if r := e.request(url, "GET", "/v1/customers/c-1", nil, auth); r.status != http.StatusOK {
		t.Fatalf("through the proxy: %d %s", r.status, r.body)
	}

	want503 := func(when string) {
		t.Helper()
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1/purchases", sale},
			{"GET", "/v1/customers/c-1", nil},
			{"GET", "/v1/programs", nil},
		} {
			r := e.request(url, c.method, c.path, c.body, auth)
			r.wantProblem(t, http.StatusServiceUnavailable, "")
			if got := r.header.Get("Retry-After"); got != "2" {
				t.Fatalf("%s: %s %s: Retry-After %q, want 2", when, c.method, c.path, got)
			}
		}
	}
	px.Down()
	want503("database down")

	if err := px.Up(); err != nil {
		t.Fatal(err)
	}
	var got response
	for range 50 {
		// The pool's connections were cut: the first requests may meet
		// them (503) before the pool has new ones.
		if got = e.request(url, "POST", "/v1/purchases", sale, auth); got.status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.status != http.StatusCreated {
		t.Fatalf("purchase once the database is back: %d %s", got.status, got.body)
	}
	if r := e.request(url, "POST", "/v1/purchases", sale, auth); r.status != http.StatusOK {
		t.Fatalf("the same purchase again: %d %s, want 200", r.status, r.body)
	}
	var n int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM purchases WHERE external_id = 'o-1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d purchases o-1 (%v), want 1", n, err)
	}

	st.Close()
	want503("pool closed")
}
