package historycost_test

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/internal/historycost"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/twiliostandin"
	"github.com/dangol/dangol/worker"
)

const (
	accountSID = "AC0c000000000000000000000000000000"
	authToken  = "0c000000000000000000000000000000"
	linkSecret = "historycost-link-secret-0123456789abcdef"
)

// newStack is one dangol on the real parts (its own database and task
// queue on the shared dev server): the API, a worker, the Twilio stand-in
// and a mail catcher. Each program kind gets its own, so one kind's
// purchases never enrol in another kind's program.
func newStack(t *testing.T, name string) *historycost.Stack {
	t.Helper()
	s := &historycost.Stack{Name: name}
	queue := fmt.Sprintf("historycost-%d", rand.IntN(1e9))
	s.Store, _ = testenv.Store(t)
	testenv.PutSettings(t, s.Store, testenv.AnyHourSettings())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	s.Temporal, err = client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Temporal.Close)

	handler := &api.Server{LinkSecret: []byte(linkSecret), Store: s.Store, Temporal: s.Temporal, TaskQueue: queue, TwilioAuthToken: authToken, Logger: quiet}
	srv := httptest.NewServer(http.NotFoundHandler())
	handler.PublicBaseURL = srv.URL
	srv.Config.Handler = handler.Handler()
	t.Cleanup(srv.Close)
	s.APIURL = srv.URL

	standin := twiliostandin.New(twiliostandin.Options{AuthToken: authToken, CallbackDelay: 100 * time.Millisecond, Logger: quiet})
	standinHTTP := httptest.NewServer(standin)
	t.Cleanup(func() { standinHTTP.Close(); standin.Close() })
	catcher := smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1", MultipleMessageReceiving: true})
	if err := catcher.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = catcher.Stop() })
	smsSender, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: "+15005550006", APIBase: standinHTTP.URL})
	if err != nil {
		t.Fatal(err)
	}
	mailer, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: catcher.PortNumber(), From: "dangol@dangol.localhost", TLS: "none", HeloName: "dangol.localhost"})
	if err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Store: s.Store, SMS: smsSender, Mail: mailer, StatusCallbackURL: srv.URL + "/webhooks/twilio/status",
		PublicBaseURL: srv.URL, Temporal: s.Temporal, TaskQueue: queue, LinkSecret: []byte(linkSecret)}
	if s.APIKey, err = s.Store.CreateAPIKey(t.Context(), "historycost"); err != nil {
		t.Fatal(err)
	}
	w := worker.New(s.Temporal, queue, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return s
}
