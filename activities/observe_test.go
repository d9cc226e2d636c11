package activities_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/metrics/metricstest"
	"github.com/dangol/dangol/store"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Every log line written while an SMS and a mail go through the send path
// (on a Temporal worker, so the SDK's own activity logs are included; with
// a provider error that quotes the number, and a relay that refuses once)
// carries no phone number, email address, name or message text of the
// customer.
func TestSendLogsCarryNoPersonalData(t *testing.T) {
	var out lockedBuffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(prev) })

	r := newRigLogging(t, log)
	relay := startRelay(t, relayRefuse4)
	r.acts.Mail = r.mailer(relay.port)
	const phone, email = "+821055550123", "minsu.kim@example.com"
	c := r.customer("c-pii", phone, email)

	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(log)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	queue := fmt.Sprintf("send-pii-%d", time.Now().UnixNano())
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflow(budgetWorkflow)
	w.RegisterActivity(r.acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	send := func(key, channel string) (activities.SendResult, error) {
		run, err := tc.ExecuteWorkflow(r.ctx, client.StartWorkflowOptions{TaskQueue: queue, ID: queue + "-" + key}, budgetWorkflow, r.request(key, channel, c))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
		defer cancel()
		var res activities.SendResult
		err = run.Get(ctx, &res)
		return res, err
	}

	if res, err := send("sms-ok", domain.ChannelSMS); err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("sms: %+v %v", res, err)
	}
	go func() { time.Sleep(700 * time.Millisecond); relay.mode.Store(int32(relayAccept)) }()
	if res, err := send("mail-ok", domain.ChannelEmail); err != nil || res.Status != domain.MessageSent {
		t.Fatalf("mail: %+v %v", res, err)
	}
	r.standin.FailNext(1, http.StatusBadRequest, 21211, "The 'To' number "+phone+" (010-5555-0123) is not a valid phone number.")
	if _, err := send("sms-refused", domain.ChannelSMS); err == nil {
		t.Fatal("a refused SMS succeeded")
	}
	eventually(t, "the status callback of the first SMS", func() bool { return r.message("sms-ok").Status != domain.MessageQueued })

	logs := out.String()
	if !strings.Contains(logs, `"level":"`) {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	body := r.message("sms-ok").Body
	for _, pii := range []string{phone, strings.TrimPrefix(phone, "+"), "01055550123", "010-5555-0123", "5555-0123",
		email, "minsu.kim", "김민수", strconv.QuoteToASCII("김민수"), body} {
		q := strings.Trim(pii, `"`)
		if i := strings.Index(logs, q); i >= 0 {
			start := strings.LastIndexByte(logs[:i], '\n') + 1
			end := i + strings.IndexByte(logs[i:], '\n')
			t.Errorf("a log line carries %q: %s", q, logs[start:max(end, i+len(q))])
		}
	}
}

// A scrape after an SMS went through the send path shows it under its
// channel, purpose and result, and HTTP requests under their route
// pattern, never the raw path with its token or id.
func TestMetricsCountSendsAndRoutePatterns(t *testing.T) {
	r := newRig(t)
	c := r.customer("c-metrics", "+821055550124", "metrics@example.com")
	before := metricstest.Sum(metricstest.Scrape(t), "dangol_messages_total", map[string]string{"channel": "sms", "result": "queued"})
	res, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelSMS, c))
	if err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("send: %+v %v", res, err)
	}
	// The same key again: already settled, so not counted twice.
	if _, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelSMS, c)); err != nil {
		t.Fatal(err)
	}
	const token = "not-a-real-token-4242"
	h := (&api.Server{Store: r.st, LinkSecret: []byte(strings.Repeat("s", 32)), Logger: quiet}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/u/"+token, nil))
	if rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("GET /u/<forged token>: %d, want a 4xx", rec.Code)
	}

	fams := metricstest.Scrape(t)
	got := metricstest.Sum(fams, "dangol_messages_total", map[string]string{"channel": "sms", "purpose": "service", "result": "queued"})
	if got < 1 || got-before != 1 {
		t.Fatalf("dangol_messages_total{channel=sms,purpose=service,result=queued} = %v (before %v), want one more", got, before)
	}
	want := map[string]string{"route": "/u/{token}", "method": "GET", "status": strconv.Itoa(rec.Code)}
	if n := metricstest.Sum(fams, "dangol_http_request_duration_seconds", want); n < 1 {
		t.Fatalf("no dangol_http_request_duration_seconds%v; routes seen: %v", want, metricstest.LabelValues(fams, "dangol_http_request_duration_seconds", "route"))
	}
	for _, name := range []string{"dangol_http_requests_total", "dangol_http_request_duration_seconds"} {
		for _, route := range metricstest.LabelValues(fams, name, "route") {
			if strings.Contains(route, token) {
				t.Fatalf("%s has the raw path %q as a label", name, route)
			}
		}
	}
}

// An enrolment's end is counted once under its program's kind and
// outcome, however often the activity is retried.
func TestEnrolmentEndCountedOnce(t *testing.T) {
	r := newRig(t)
	c := r.customer("c-end", "+821055550125", "end@example.com")
	es, err := r.st.EnrolCustomers(r.ctx, store.EligibleQuery{ProgramID: r.programID, Now: time.Now()}, 1, []int64{c}, func(c int64) string { return fmt.Sprintf("end/%d", c) }, nil)
	if err != nil || len(es) != 1 {
		t.Fatalf("enrol: %v %v", es, err)
	}
	labels := map[string]string{"kind": "happy_call", "outcome": "completed"}
	before := metricstest.Sum(metricstest.Scrape(t), "dangol_enrolments_ended_total", labels)
	for range 2 {
		if err := r.acts.EndEnrolment(r.ctx, es[0].ID, "completed"); err != nil {
			t.Fatal(err)
		}
	}
	if got := metricstest.Sum(metricstest.Scrape(t), "dangol_enrolments_ended_total", labels); got-before != 1 {
		t.Fatalf("dangol_enrolments_ended_total%v went from %v to %v, want one more", labels, before, got)
	}
	if e, err := r.st.Enrolment(r.ctx, es[0].ID); err != nil || e.Status != domain.EnrolmentEnded || deref(e.Outcome) != "completed" {
		t.Fatalf("enrolment after end: %+v %v", e, err)
	}
}
