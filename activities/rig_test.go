package activities_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "fedcba9876543210fedcba9876543210"
	fromNumber = "+15005550006"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is SendMessage on real parts: a migrated database, the real
// twilio-go client against the stand-in, whose status callbacks reach the
// real webhook handler, and an SMTP relay.
type rig struct {
	t         *testing.T
	ctx       context.Context
	st        *store.Store
	standin   *twiliostandin.Server
	sms       *sms.Twilio
	acts      *activities.Activities
	programID int64
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigLogging(t, quiet)
}

// newRigLogging is newRig whose webhook handler and stand-in log to log.
func newRigLogging(t *testing.T, log *slog.Logger) *rig {
	t.Helper()
	ctx := context.Background()
	st, _ := testenv.Store(t)
	testenv.PutSettings(t, st, testenv.AnyHourSettings())
	hooks := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(hooks.Close)
	hooks.Config.Handler = (&api.Server{Store: st, TwilioAuthToken: authToken, PublicBaseURL: hooks.URL, Logger: log}).Handler()

	standin := twiliostandin.New(twiliostandin.Options{AuthToken: authToken, CallbackDelay: 50 * time.Millisecond, Logger: log})
	standinHTTP := httptest.NewServer(standin)
	t.Cleanup(func() { standinHTTP.Close(); standin.Close() })
	sender, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, APIBase: standinHTTP.URL, HTTPTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.CreateProgram(ctx, "messages", "happy_call", []byte(`{"touches":[{"key":"t1","offset":"1s",
		"sms":"{{.Name}}님, 감사합니다","email_subject":"{{.Name}}님께","email":"{{.Name}}님, 다시 찾아 주셔서 감사합니다"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, ctx: ctx, st: st, standin: standin, sms: sender, programID: p.ID,
		acts: &activities.Activities{Store: st, SMS: sender, StatusCallbackURL: hooks.URL + "/webhooks/twilio/status", PublicBaseURL: hooks.URL}}
}

// customer stores a customer who consents to SMS and mail.
func (r *rig) customer(externalID, phone, email string) int64 {
	r.t.Helper()
	yes := store.Consent{Granted: true, At: time.Now(), Source: "pos"}
	c, _, err := r.st.UpsertCustomer(r.ctx, store.Customer{ExternalID: externalID, Name: "김민수", Phone: &phone, Email: &email,
		TimeZone: "Asia/Seoul", Locale: "ko-KR", Consent: map[string]store.Consent{"sms": yes, "email": yes}})
	if err != nil {
		r.t.Fatal(err)
	}
	return c.ID
}

func (r *rig) request(key, channel string, customerID int64) activities.SendRequest {
	field := activities.FieldSMS
	if channel == domain.ChannelEmail {
		field = activities.FieldEmail
	}
	return activities.SendRequest{Key: key, Channel: channel, CustomerID: customerID,
		Template: activities.TemplateRef{ProgramID: r.programID, Version: 1, Step: "t1", Field: field}}
}

func (r *rig) message(key string) store.Message {
	r.t.Helper()
	m, err := r.st.MessageByKey(r.ctx, key)
	if err != nil {
		r.t.Fatalf("message %s: %v", key, err)
	}
	return m
}

func (r *rig) events(id int64) []store.MessageEvent {
	r.t.Helper()
	ev, err := r.st.MessageEvents(r.ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return ev
}

func (r *rig) mailer(port int) *mail.SMTP {
	r.t.Helper()
	m, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, From: "dangol@dangol.localhost", TLS: mail.TLSNone,
		HeloName: "dangol.localhost", Timeout: 5 * time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// relayMode is what the test relay does once it has read a whole mail.
type relayMode int

const (
	relayAccept  relayMode = iota // 250
	relayDrop                     // drop the connection, no answer
	relayRefuse4                  // 451: not taken, try later
)

// relay is a minimal SMTP server. received counts the mails it read to
// the end of data: what reached the edge, whatever it answered.
type relay struct {
	port     int
	mode     atomic.Int32
	received atomic.Int32
}

func startRelay(t *testing.T, mode relayMode) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{port: ln.Addr().(*net.TCPAddr).Port}
	r.mode.Store(int32(mode))
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
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
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				r.session(conn)
			}()
		}
	}()
	return r
}

func (r *relay) session(conn net.Conn) {
	in := bufio.NewReader(conn)
	say := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
	say("220 relay.test ESMTP")
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 relay.test")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), cmd == "RSET", cmd == "NOOP":
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
			switch relayMode(r.mode.Load()) {
			case relayAccept:
				r.received.Add(1)
				say("250 queued")
			case relayDrop:
				r.received.Add(1)
				return
			case relayRefuse4:
				say("451 try again later")
			}
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}
