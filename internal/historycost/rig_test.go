package historycost_test

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

const (
	accountSID = "AC0c000000000000000000000000000000"
	authToken  = "0c000000000000000000000000000000"
	linkSecret = "historycost-link-secret-0123456789abcdef"
)

// rig is one dangol on the real parts (its own database and task queue
// on the shared dev server): the API, a worker, the Twilio stand-in and
// a mail catcher. Each program kind gets its own, so one kind's audience
// never enrols another's customers.
type rig struct {
	t   *testing.T
	st  *store.Store
	tc  client.Client
	api *httptest.Server
	key string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t}
	queue := fmt.Sprintf("historycost-%d", rand.IntN(1e9))
	r.st, _ = testenv.Store(t)
	testenv.PutSettings(t, r.st, testenv.AnyHourSettings())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	r.tc, err = client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.tc.Close)

	handler := &api.Server{LinkSecret: []byte(linkSecret), Store: r.st, Temporal: r.tc, TaskQueue: queue, TwilioAuthToken: authToken, Logger: quiet}
	r.api = httptest.NewServer(http.NotFoundHandler())
	handler.PublicBaseURL = r.api.URL
	r.api.Config.Handler = handler.Handler()
	t.Cleanup(r.api.Close)

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
	acts := &activities.Activities{Store: r.st, SMS: smsSender, Mail: mailer, StatusCallbackURL: r.api.URL + "/webhooks/twilio/status",
		PublicBaseURL: r.api.URL, Temporal: r.tc, TaskQueue: queue, LinkSecret: []byte(linkSecret)}
	if r.key, err = r.st.CreateAPIKey(ctx, "historycost"); err != nil {
		t.Fatal(err)
	}
	w := worker.New(r.tc, queue, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return r
}

// must makes an authenticated API request, fails the test on another
// status than want, and decodes the answer into out (when given).
func (r *rig) must(want int, method, path string, body, out any) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			r.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.api.URL+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			r.t.Fatal(err)
		}
	}
}

// customer creates a customer with every consent, and a purchase
// lapsedDays ago when lapsedDays > 0 (no program enrols on it).
func (r *rig) customer(id string, lapsedDays int, birthday string) int64 {
	r.t.Helper()
	ctx := context.Background()
	phone := fmt.Sprintf("+8210%08d", rand.IntN(1e8))
	email := id + "@example.com"
	granted := store.Consent{Granted: true, At: time.Now(), Source: "seed"}
	c := store.Customer{ExternalID: id, Name: "고객" + id, Phone: &phone, Email: &email, TimeZone: "Asia/Seoul", Locale: "ko-KR",
		Consent: map[string]store.Consent{"sms": granted, "email": granted, "call": granted}}
	if birthday != "" {
		b, err := time.Parse(time.DateOnly, birthday)
		if err != nil {
			r.t.Fatal(err)
		}
		c.Birthday = &b
	}
	c, _, err := r.st.UpsertCustomer(ctx, c)
	if err != nil {
		r.t.Fatal(err)
	}
	if lapsedDays > 0 {
		_, _, _, err = r.st.RecordPurchase(ctx, store.Purchase{ExternalID: "seed-" + id, CustomerID: c.ID, Amount: "50000", Currency: "KRW",
			Category: "의류", Store: "강남점", PurchasedAt: time.Now().AddDate(0, 0, -lapsedDays)},
			func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil })
		if err != nil {
			r.t.Fatal(err)
		}
	}
	return c.ID
}

func (r *rig) program(kind string, params map[string]any) int64 {
	r.t.Helper()
	var p struct {
		ID int64 `json:"id"`
	}
	r.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": kind, "kind": kind, "params": params}, &p)
	return p.ID
}

func (r *rig) purchase(id, customer string) {
	r.t.Helper()
	r.must(http.StatusCreated, "POST", "/v1/purchases", map[string]any{
		"external_id": id, "customer_id": customer, "amount": "1290000", "currency": "KRW",
		"category": "가전", "product": "냉장고", "store": "강남점", "purchased_at": time.Now().Format(time.RFC3339Nano),
	}, nil)
}

// enrolments lists the program's enrolments.
func (r *rig) enrolments(programID int64) []store.Enrolment {
	r.t.Helper()
	rows, err := r.st.Pool().Query(context.Background(), `SELECT id, workflow_id, status, coalesce(outcome, '') FROM enrolments WHERE program_id = $1 ORDER BY id`, programID)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	var out []store.Enrolment
	for rows.Next() {
		var e store.Enrolment
		var outcome string
		if err := rows.Scan(&e.ID, &e.WorkflowID, &e.Status, &outcome); err != nil {
			r.t.Fatal(err)
		}
		if outcome != "" {
			e.Outcome = &outcome
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// waitEnded waits until the program has n enrolments, all ended with the
// outcome, and returns their workflow ids.
func (r *rig) waitEnded(programID int64, n int, outcome string, timeout time.Duration) []string {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		es := r.enrolments(programID)
		ended := 0
		var ids []string
		for _, e := range es {
			if e.Status == store.EnrolmentEnded {
				if *e.Outcome != outcome {
					r.t.Fatalf("enrolment %d ended %s, want %s", e.ID, *e.Outcome, outcome)
				}
				ended++
			}
			ids = append(ids, e.WorkflowID)
		}
		if len(es) == n && ended == n {
			// The row is written ended by the run's last activity; the run
			// closes a workflow task later.
			for _, id := range ids {
				if err := r.tc.GetWorkflow(context.Background(), id, "").Get(context.Background(), nil); err != nil {
					r.t.Fatalf("workflow %s: %v", id, err)
				}
			}
			return ids
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %s: %d of %d enrolments ended: %+v", timeout, ended, n, es)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dial is a client of the test's own.
func dial(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
