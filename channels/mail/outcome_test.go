package mail

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
)

// afterData is what a relay does once it has read a whole message.
type afterData int

const (
	replyOK      afterData = iota // 250, then whatever comes (QUIT, RSET)
	replyOKClose                  // 250, then drop the connection
	dropSilently                  // drop the connection without answering
	hangSilently                  // never answer
)

// relay is a minimal SMTP server whose behaviour after the end of data
// is scripted; it counts the messages it read to the end, which is what a
// relay has "received" whatever it answered.
type relay struct {
	port     int
	received atomic.Int32
}

func startRelay(t *testing.T, then afterData) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{port: ln.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				r.session(conn, then, done)
			}()
		}
	}()
	return r
}

func (r *relay) session(conn net.Conn, then afterData, done chan struct{}) {
	in := bufio.NewReader(conn)
	say := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
	say("220 relay.test ESMTP")
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 relay.test")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), cmd == "NOOP":
			say("250 OK")
		case cmd == "DATA":
			say("354 go ahead")
			for {
				l, err := in.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			r.received.Add(1)
			switch then {
			case replyOK:
				say("250 queued")
			case replyOKClose:
				say("250 queued")
				return
			case dropSilently:
				return
			case hangSilently:
				<-done
				return
			}
		case cmd == "RSET":
			say("250 OK")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func mailTo(id string) Message {
	return Message{To: "minsu.kim@example.com", Subject: "제목", TextBody: "본문", MessageID: "<" + id + "@dangol>"}
}

// The relay read the whole mail and the connection broke before its
// answer: the relay may have taken it, and Send says exactly that.
func TestLostAnswerToEndOfDataIsUnknownOutcome(t *testing.T) {
	r := startRelay(t, dropSilently)
	err := newTestSMTP(t, r.port).Send(context.Background(), mailTo("lost"))
	var unknown *UnknownOutcomeError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v (%T), want *UnknownOutcomeError", err, err)
	}
	var pe *PermanentError
	if errors.As(err, &pe) {
		t.Fatalf("err = %v is also permanent", err)
	}
	if n := r.received.Load(); n != 1 {
		t.Fatalf("relay read %d messages, want 1", n)
	}
}

// A send cancelled while waiting for the relay's answer returns at once,
// with an unknown outcome: the mail went out in full.
func TestCancelWhileWaitingForAnswerIsUnknownOutcome(t *testing.T) {
	r := startRelay(t, hangSilently)
	ctx, cancel := context.WithCancel(context.Background())
	m := mailTo("hang")
	m.BeforeEndOfData = func() error {
		time.AfterFunc(100*time.Millisecond, cancel)
		return nil
	}
	start := time.Now()
	err := newTestSMTP(t, r.port).Send(ctx, m)
	var unknown *UnknownOutcomeError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v (%T), want *UnknownOutcomeError", err, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Send took %s after cancel", took)
	}
}

// Once the relay said 250 to the end of data, the mail is sent, whatever
// happens to the connection next. go-mail's own send reports the failed
// RSET that follows as an error, which made dangol send the mail again.
func TestConnectionLostAfterAcceptanceIsSuccess(t *testing.T) {
	r := startRelay(t, replyOKClose)
	if err := newTestSMTP(t, r.port).Send(context.Background(), mailTo("taken")); err != nil {
		t.Fatalf("Send = %v after the relay took the mail", err)
	}
	if n := r.received.Load(); n != 1 {
		t.Fatalf("relay read %d messages, want 1", n)
	}
}

// The hook runs after the relay accepted the envelope and the text, right
// before the end of data; if it fails, nothing is delivered.
func TestBeforeEndOfData(t *testing.T) {
	t.Run("called once, after RCPT, mail delivered", func(t *testing.T) {
		r := startRelay(t, replyOK)
		calls := 0
		m := mailTo("hook")
		m.BeforeEndOfData = func() error {
			calls++
			if n := r.received.Load(); n != 0 {
				t.Errorf("hook called after the relay had the whole mail (%d)", n)
			}
			return nil
		}
		if err := newTestSMTP(t, r.port).Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if calls != 1 || r.received.Load() != 1 {
			t.Fatalf("hook calls %d, relay received %d; want 1 and 1", calls, r.received.Load())
		}
	})
	t.Run("failing hook sends nothing", func(t *testing.T) {
		srv := startMock(t, smtpmock.ConfigurationAttr{})
		m := mailTo("abort")
		m.BeforeEndOfData = func() error { return errors.New("database unreachable") }
		err := newTestSMTP(t, srv.PortNumber()).Send(context.Background(), m)
		var unknown *UnknownOutcomeError
		var pe *PermanentError
		if err == nil || errors.As(err, &unknown) || errors.As(err, &pe) || !strings.Contains(err.Error(), "database unreachable") {
			t.Fatalf("err = %v, want a transient error carrying the hook's", err)
		}
		time.Sleep(200 * time.Millisecond)
		for _, msg := range srv.Messages() {
			if msg.Msg() {
				t.Fatalf("mock delivered a message after the hook failed: %q", msg.MsgRequest())
			}
		}
	})
	t.Run("not called when RCPT is refused", func(t *testing.T) {
		srv := startMock(t, smtpmock.ConfigurationAttr{NotRegisteredEmails: []string{"minsu.kim@example.com"}})
		m := mailTo("refused")
		m.BeforeEndOfData = func() error { t.Error("hook called for a refused recipient"); return nil }
		var pe *PermanentError
		if err := newTestSMTP(t, srv.PortNumber()).Send(context.Background(), m); !errors.As(err, &pe) || pe.Code != 550 {
			t.Fatalf("err = %v, want permanent 550", err)
		}
	})
}
