// Package tcpproxy stands between a client and a server so a test or the
// chaos run can take the server away the way an outage does (new
// connections refused, open ones cut or left going) and bring it back on
// the same address, without restarting the server and losing what it
// holds.
package tcpproxy

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy passes each connection on to its backend, while it listens.
type Proxy struct {
	backend, addr string

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	closed bool
	passed int
}

// Listen proxies addr (such as "127.0.0.1:0") to backend.
func Listen(addr, backend string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return Serve(ln, backend), nil
}

// Serve proxies the connections ln accepts to backend.
func Serve(ln net.Listener, backend string) *Proxy {
	p := &Proxy{backend: backend, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.serve(ln)
	return p
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.addr }

// Passed counts the connections passed on to the backend.
func (p *Proxy) Passed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passed
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pass(c)
		}
	}()
}

func (p *Proxy) pass(c net.Conn) {
	b, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.passed++
	p.conns[c], p.conns[b] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// Refuse stops listening: connecting gets "connection refused", as from a
// server that is down. Connections already open go on.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
}

// Down refuses new connections and cuts the open ones, as a restart of
// the server does.
func (p *Proxy) Down() {
	p.Refuse()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Up listens again on the same address. The port was the proxy's a moment
// ago; it waits up to 5 s for the system to give it back.
func (p *Proxy) Up() error {
	p.mu.Lock()
	closed, listening := p.closed, p.ln != nil
	p.mu.Unlock()
	if closed || listening {
		return nil
	}
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("proxy: listening again on %s: %w", p.addr, err)
}

// RefuseFor refuses connections for d, then listens again; an error
// listening again goes to failed (nil: ignored).
func (p *Proxy) RefuseFor(d time.Duration, failed func(error)) {
	p.Refuse()
	time.AfterFunc(d, func() {
		if err := p.Up(); err != nil && failed != nil {
			failed(err)
		}
	})
}

// Close stops the proxy for good and cuts its connections.
func (p *Proxy) Close() {
	p.Down()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}
