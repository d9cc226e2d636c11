package main

import (
	"io"
	"net"
	"sync"
	"time"
)

// smtpProxy passes connections to the mail catcher, or refuses them for a
// while. maildev cannot be told to refuse, and restarting it would lose
// the mail it holds, which is what the run counts.
type smtpProxy struct {
	backend string
	mu      sync.Mutex
	ln      net.Listener
	addr    string
	closed  bool
	// passed counts the connections passed on to the mail catcher.
	passed int
}

func newSMTPProxy(ln net.Listener, backend string) *smtpProxy {
	p := &smtpProxy{backend: backend, addr: ln.Addr().String()}
	p.serve(ln)
	return p
}

func (p *smtpProxy) serve(ln net.Listener) {
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

func (p *smtpProxy) pass(c net.Conn) {
	defer c.Close()
	b, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		return
	}
	defer b.Close()
	p.mu.Lock()
	p.passed++
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
}

// refuse stops listening for d: connecting gets "connection refused", as
// from a relay that is down. Connections already open go on.
func (p *smtpProxy) refuse(d time.Duration) {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	time.AfterFunc(d, func() {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		// The port was ours a moment ago; another process taking it
		// meanwhile is a broken run, reported by the mail count.
		for range 50 {
			if ln, err := net.Listen("tcp", p.addr); err == nil {
				p.serve(ln)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func (p *smtpProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
}
