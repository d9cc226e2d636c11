package tcpproxy_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/dangol/dangol/internal/tcpproxy"
)

// echo serves one line back per connection, until the listener closes.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					_, _ = c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("hi\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}

// Refused while down, passing again once up on the same address; Refuse
// leaves an open connection going, Down cuts it.
func TestProxyGoesDownAndComesBack(t *testing.T) {
	p, err := tcpproxy.Listen("127.0.0.1:0", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	open, err := net.Dial("tcp", p.Addr())
	if err != nil || roundTrip(open) != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Refuse()
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.Close()
		t.Fatal("a new connection passed while refusing")
	}
	if err := roundTrip(open); err != nil {
		t.Fatalf("refusing cut an open connection: %v", err)
	}
	p.Down()
	if roundTrip(open) == nil {
		t.Fatal("an open connection survived Down")
	}
	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil || roundTrip(c) != nil {
		t.Fatalf("after Up: %v", err)
	}
	c.Close()
	if p.Passed() != 2 {
		t.Fatalf("passed %d connections, want 2", p.Passed())
	}
}
