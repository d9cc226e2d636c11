// Package e2e runs dangol end to end on real parts: PostgreSQL, the
// Temporal dev server, the real twilio-go client against the Twilio
// stand-in, and SMTP into an in-process mail catcher.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
	"github.com/dangol/dangol/worker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	accountSID = "ACe2e00000000000000000000000000000"
	authToken  = "e2e00000000000000000000000000000"
	fromNumber = "+15005550006"
	// linkSecret signs the unsubscribe links advertising mail carries.
	linkSecret = "e2e-link-secret-0123456789abcdef-0123456789"
)

// stack is one isolated dangol: its own database and task queue on the
// shared Temporal dev server.
type stack struct {
	t       *testing.T
	dsn     string
	st      *store.Store
	tc      client.Client
	standin *twiliostandin.Server
	mail    *smtpmock.Server
	api     *httptest.Server
	key     string
	queue   string
	sms     sms.Sender
	acts    *activities.Activities
	worker  *worker.Workers
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, queue: fmt.Sprintf("e2e-%s-%d", t.Name(), rand.IntN(1e9))}
	st, dsn := testenv.Store(t)
	s.st, s.dsn = st, dsn
	testenv.PutSettings(t, st, testenv.AnyHourSettings())

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("E2E_VERBOSE") != "" {
		quiet = slog.Default()
	}
	var err error
	s.tc, err = client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.tc.Close)

	// The API is created first so the stand-in can call back to it.
	handler := &api.Server{LinkSecret: []byte(linkSecret), Store: st, Temporal: s.tc, TaskQueue: s.queue, TwilioAuthToken: authToken, Logger: quiet}
	s.api = httptest.NewServer(http.NotFoundHandler())
	handler.PublicBaseURL = s.api.URL
	s.api.Config.Handler = handler.Handler()
	t.Cleanup(s.api.Close)

	s.standin = twiliostandin.New(twiliostandin.Options{AuthToken: authToken, CallbackDelay: 100 * time.Millisecond, Logger: quiet})
	standinHTTP := httptest.NewServer(s.standin)
	t.Cleanup(func() { standinHTTP.Close(); s.standin.Close() })

	s.mail = smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1", MultipleMessageReceiving: true})
	if err := s.mail.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.mail.Stop() })

	s.sms, err = sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, APIBase: standinHTTP.URL})
	if err != nil {
		t.Fatal(err)
	}
	mailer, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: s.mail.PortNumber(), From: "dangol@dangol.localhost", TLS: "none", HeloName: "dangol.localhost"})
	if err != nil {
		t.Fatal(err)
	}
	s.acts = &activities.Activities{Store: st, SMS: s.sms, Mail: mailer, StatusCallbackURL: s.api.URL + "/webhooks/twilio/status", PublicBaseURL: s.api.URL,
		Temporal: s.tc, TaskQueue: s.queue, LinkSecret: []byte(linkSecret)}
	if s.key, err = st.CreateAPIKey(ctx, "e2e"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stopWorker)
	return s
}

func (s *stack) startWorker() {
	s.t.Helper()
	w := worker.New(s.tc, s.queue, s.acts)
	if err := w.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.worker = w
}

func (s *stack) stopWorker() {
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
}

// call makes an authenticated API request and decodes the JSON answer.
func (s *stack) call(method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.api.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// must is call that fails the test on an unexpected status.
func (s *stack) must(want int, method, path string, body any, out any) {
	s.t.Helper()
	var raw json.RawMessage
	got := s.call(method, path, body, &raw)
	if got != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

// eventually polls until cond holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// smsTo returns the bodies the stand-in accepted for a number.
func (s *stack) smsTo(to string) []string {
	var out []string
	for _, m := range s.standin.Messages() {
		if m.To == to {
			out = append(out, m.Body)
		}
	}
	return out
}

func (s *stack) putCustomer(id, phone, email string) {
	s.t.Helper()
	s.must(http.StatusCreated, "PUT", "/v1/customers/"+id, map[string]any{
		"name": "김민수", "phone": phone, "email": email, "time_zone": "Asia/Seoul",
		"consent": map[string]any{
			"sms":   map[string]any{"granted": true, "source": "pos"},
			"email": map[string]any{"granted": true, "source": "pos"},
			"call":  map[string]any{"granted": true, "source": "pos"},
		},
	}, nil)
}

type programOut struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Version int    `json:"version"`
}

type purchaseOut struct {
	ExternalID string            `json:"external_id"`
	Enrolments []store.Enrolment `json:"enrolments"`
}

func (s *stack) postPurchase(id, customer, category string, at time.Time, want int) purchaseOut {
	s.t.Helper()
	var out purchaseOut
	s.must(want, "POST", "/v1/purchases", map[string]any{
		"external_id": id, "customer_id": customer, "amount": "1290000", "currency": "KRW",
		"category": category, "product": "비스포크 냉장고", "store": "강남점", "purchased_at": at.Format(time.RFC3339Nano),
	}, &out)
	return out
}
