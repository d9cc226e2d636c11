package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/store"
)

// tcpProxy stands between the API and PostgreSQL so a test can take the
// database away (as a restart does: connections cut, new ones refused)
// and bring it back on the same address.
type tcpProxy struct {
	t       *testing.T
	backend string
	addr    string
	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]bool
}

func newTCPProxy(t *testing.T, backend string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, backend: backend, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", p.backend)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[b] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(b, c); b.Close() }()
			go func() { _, _ = io.Copy(c, b); c.Close() }()
		}
	}()
}

// down refuses new connections and cuts the open ones.
func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// up listens again on the same address.
func (p *tcpProxy) up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

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
	px := newTCPProxy(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	st, err := store.Open(ctx, fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, px.addr, cfg.Database))
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
	px.down()
	want503("database down")

	px.up()
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
