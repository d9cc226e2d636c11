package historycost

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/apiclient"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// Stack is a running dangol the drivers run programs on: its database, a
// Temporal client of the server its worker polls, and its REST API. The
// caller runs the worker (with activities' settings that send at any
// hour). TestHistoryCost gives each kind a stack of its own; the bench
// runs every kind on one shared stack, which is why a driver's customers,
// orders and audience carry Name.
type Stack struct {
	Store    *store.Store
	Temporal client.Client
	APIURL   string
	APIKey   string
	// HTTP calls the API; nil is http.DefaultClient.
	HTTP *http.Client
	// Name makes the driver's customer and order ids and its audience's
	// store its own, so that in a shared database a sweep enrols no one
	// else's customers.
	Name string
	// Timeout bounds each wait for enrolments to reach a state; zero is a
	// minute.
	Timeout time.Duration
}

// A Kind runs enrolments of one program kind with offsets of seconds.
type Kind struct {
	Name string
	// Drive creates a program of the kind, enrols n new customers and runs
	// each enrolment to its end, then stops the program (so it enrols
	// nobody else and its sweep schedule is gone).
	Drive func(ctx context.Context, s *Stack, n int) (Run, error)
}

// Run is what a driver ran: the program, its enrolments' workflow ids,
// and the touches they made between them.
type Run struct {
	ProgramID   int64
	WorkflowIDs []string
	Touches     int
}

// Kinds are the program kinds, each with a plan that reaches every kind of
// step it has.
var Kinds = []Kind{
	{"happy_call", driveHappyCall},
	{"welcome_back", driveWelcomeBack},
	{"dormant_wakeup", driveDormantWakeup},
	{"second_purchase", driveSecondPurchase},
	{"birthday", driveBirthday},
}

// The 3.1.3.1 plan of the e2e test: a thank-you SMS and mail, a call
// nobody answers (its fallback SMS), a call staff complete: three touches.
func driveHappyCall(ctx context.Context, s *Stack, n int) (Run, error) {
	prog, err := s.program(ctx, "happy_call", map[string]any{
		"categories":  []string{"가전"},
		"call_window": "4s",
		"touches": []map[string]any{
			{"key": "3d", "offset": "1s", "sms": "{{.Name}}님, 구매 감사합니다.", "email_subject": "감사합니다", "email": "설명서"},
			{"key": "1mo", "offset": "3s", "call": true, "fallback_sms": "{{.Name}}님, 전화 드렸는데 통화가 어려웠습니다."},
			{"key": "3mo", "offset": "9s", "call": true, "fallback_sms": "not sent: staff reached the customer"},
		},
	})
	if err != nil {
		return Run{}, err
	}
	for i := range n {
		id := s.id("hc", i)
		if _, err := s.customer(ctx, id, 0, ""); err != nil {
			return Run{}, err
		}
		if err := s.purchase(ctx, "o-"+id, id); err != nil {
			return Run{}, err
		}
	}
	// The purchase marks what it started active, before the first touch.
	es, err := s.enrolments(ctx, prog)
	if err != nil {
		return Run{}, err
	}
	for _, e := range es {
		if e.Status != domain.EnrolmentActive {
			return Run{}, fmt.Errorf("enrolment %d is %s after its purchase, want active", e.ID, e.Status)
		}
	}
	// Staff reach every customer at the third touch.
	deadline := time.Now().Add(s.timeout())
	for completed := map[int64]bool{}; len(completed) < n; {
		if time.Now().After(deadline) {
			return Run{}, fmt.Errorf("only %d of %d third-touch call tasks completed", len(completed), n)
		}
		if err := pause(ctx); err != nil {
			return Run{}, err
		}
		open, err := s.ids(ctx, `SELECT id FROM call_tasks WHERE status = 'open' AND idempotency_key LIKE '%:3mo:call'
			AND enrolment_id IN (SELECT id FROM enrolments WHERE program_id = $1)`, prog)
		if err != nil {
			return Run{}, err
		}
		for _, id := range open {
			if err := s.api(ctx, http.StatusOK, "POST", fmt.Sprintf("/v1/call-tasks/%d/complete", id), map[string]any{"outcome": "reached", "note": "잘 쓰고 계심"}, nil); err != nil {
				return Run{}, err
			}
			completed[id] = true
		}
	}
	run, err := s.end(ctx, prog, n, domain.OutcomeCompleted, 3*n)
	if err != nil {
		return run, err
	}
	var fallbacks int
	if err := s.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM messages WHERE idempotency_key LIKE '%:1mo:fallback_sms'
		AND enrolment_id IN (SELECT id FROM enrolments WHERE program_id = $1)`, prog).Scan(&fallbacks); err != nil {
		return run, err
	}
	if fallbacks != n {
		return run, fmt.Errorf("%d fallback SMS, want %d", fallbacks, n)
	}
	return run, nil
}

// A welcome-back: the greeting with its coupon, the reminder, the
// coupon's expiry.
func driveWelcomeBack(ctx context.Context, s *Stack, n int) (Run, error) {
	for i := range n {
		if _, err := s.customer(ctx, s.id("wb", i), 120, ""); err != nil {
			return Run{}, err
		}
	}
	prog, err := s.program(ctx, "welcome_back", map[string]any{
		"lapsed_days": 90, "holdout_percent": 0, "audience": s.audience(),
		"coupon":          map[string]any{"kind": "amount", "value": "10000", "valid_for": "8s"},
		"reminder_before": "4s",
	})
	if err != nil {
		return Run{}, err
	}
	if err := s.sweep(ctx, prog); err != nil {
		return Run{}, err
	}
	return s.end(ctx, prog, n, domain.OutcomeExpired, 2*n)
}

// The dormant wake-up cadence in seconds: four steps, the third with a
// coupon; the customer is marked dormant.
func driveDormantWakeup(ctx context.Context, s *Stack, n int) (Run, error) {
	for i := range n {
		if _, err := s.customer(ctx, s.id("dw", i), 200, ""); err != nil {
			return Run{}, err
		}
	}
	prog, err := s.program(ctx, "dormant_wakeup", map[string]any{
		"lapsed_days": 180, "holdout_percent": 0, "audience": s.audience(),
		"steps": []map[string]any{
			{"key": "d0", "offset": "0s", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님, 잘 지내시죠?"}},
			{"key": "d30", "offset": "2s", "channel": "email", "message": map[string]any{"subject": "소식", "text": "새 상품 소식"}},
			{"key": "d90", "offset": "4s", "channel": "sms", "coupon": true, "message": map[string]any{"text": "쿠폰 {{.Coupon}}"}},
			{"key": "d180", "offset": "6s", "channel": "email", "survey": true, "message": map[string]any{"subject": "의견", "text": "알려주세요: {{.SurveyURL}}"}},
		},
	})
	if err != nil {
		return Run{}, err
	}
	if err := s.sweep(ctx, prog); err != nil {
		return Run{}, err
	}
	return s.end(ctx, prog, n, domain.OutcomeDormant, 4*n)
}

// A second purchase: the thank-you, the coupon, its expiry.
func driveSecondPurchase(ctx context.Context, s *Stack, n int) (Run, error) {
	prog, err := s.program(ctx, "second_purchase", map[string]any{
		"coupon_after": "2s", "coupon": map[string]any{"kind": "percent", "value": "15", "valid_for": "4s"},
	})
	if err != nil {
		return Run{}, err
	}
	for i := range n {
		id := s.id("sp", i)
		if _, err := s.customer(ctx, id, 0, ""); err != nil {
			return Run{}, err
		}
		if err := s.purchase(ctx, "o-"+id, id); err != nil {
			return Run{}, err
		}
	}
	return s.end(ctx, prog, n, domain.OutcomeExpired, 2*n)
}

// A birthday enrolment lives for years: it is measured from the sweep to
// its sleep until the card, and its end when the program stops.
func driveBirthday(ctx context.Context, s *Stack, n int) (Run, error) {
	// A birthday half a year away: asleep until the card. The customers
	// bought a year ago, at the audience's store.
	day := time.Now().AddDate(0, 6, 0).Format("2006-01-02")
	for i := range n {
		if _, err := s.customer(ctx, s.id("bd", i), 365, "1990"+day[4:]); err != nil {
			return Run{}, err
		}
	}
	prog, err := s.program(ctx, "birthday", map[string]any{"holdout_percent": 0, "audience": s.audience()})
	if err != nil {
		return Run{}, err
	}
	if err := s.sweep(ctx, prog); err != nil {
		return Run{}, err
	}
	deadline := time.Now().Add(s.timeout())
	for asleep := 0; asleep < n; {
		if time.Now().After(deadline) {
			return Run{}, fmt.Errorf("%d of %d birthday enrolments asleep", asleep, n)
		}
		if err := pause(ctx); err != nil {
			return Run{}, err
		}
		es, err := s.enrolments(ctx, prog)
		if err != nil {
			return Run{}, err
		}
		asleep = 0
		for _, e := range es {
			if e.Status != domain.EnrolmentActive {
				// The sweep's page marks what it started active.
				continue
			}
			v, err := s.Temporal.QueryWorkflow(ctx, e.WorkflowID, "", workflows.QueryJourney)
			if err != nil {
				continue
			}
			var j workflows.Journey
			if err := v.Get(&j); err == nil && j.Next != nil && j.Next.Waiting == "time" && strings.HasPrefix(j.Next.Touch, "card") {
				asleep++
			}
		}
	}
	return s.end(ctx, prog, n, domain.OutcomeStopped, 0)
}

func (s *Stack) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return time.Minute
}

// id is a customer id of this stack's own.
func (s *Stack) id(kind string, i int) string {
	return fmt.Sprintf("%s-%s-%d", s.Name, kind, i)
}

// store is where the driver's customers made their earlier purchases: the
// segment programs' audience is the customers who bought there.
func (s *Stack) store() string { return "매장-" + s.Name }

func (s *Stack) audience() map[string]any {
	return map[string]any{"stores": []string{s.store()}}
}

// pause is the polling interval of the waits.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

// api makes an authenticated API request, fails on another status than
// want, and decodes the answer into out (when given).
func (s *Stack) api(ctx context.Context, want int, method, path string, body, out any) error {
	return apiclient.Do(ctx, s.HTTP, s.APIURL, s.APIKey, want, method, path, body, out)
}

// customer creates a customer with every consent, and a purchase at the
// audience's store lapsedDays ago when lapsedDays > 0 (no program enrols
// on it).
func (s *Stack) customer(ctx context.Context, id string, lapsedDays int, birthday string) (int64, error) {
	phone := fmt.Sprintf("+8210%08d", rand.IntN(1e8))
	email := id + "@example.com"
	granted := store.Consent{Granted: true, At: time.Now(), Source: "seed"}
	c := store.Customer{ExternalID: id, Name: "고객" + id, Phone: &phone, Email: &email, TimeZone: "Asia/Seoul", Locale: "ko-KR",
		Consent: map[string]store.Consent{"sms": granted, "email": granted, "call": granted}}
	if birthday != "" {
		b, err := time.Parse(time.DateOnly, birthday)
		if err != nil {
			return 0, err
		}
		c.Birthday = &b
	}
	c, _, err := s.Store.UpsertCustomer(ctx, c)
	if err != nil {
		return 0, err
	}
	if lapsedDays > 0 {
		_, _, _, err = s.Store.RecordPurchase(ctx, store.Purchase{ExternalID: "seed-" + id, CustomerID: c.ID, Amount: "50000", Currency: "KRW",
			Category: "의류", Store: s.store(), PurchasedAt: time.Now().AddDate(0, 0, -lapsedDays)},
			func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil })
		if err != nil {
			return 0, err
		}
	}
	return c.ID, nil
}

func (s *Stack) program(ctx context.Context, kind string, params map[string]any) (int64, error) {
	var p struct {
		ID int64 `json:"id"`
	}
	err := s.api(ctx, http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": s.Name + " " + kind, "kind": kind, "params": params}, &p)
	return p.ID, err
}

func (s *Stack) sweep(ctx context.Context, programID int64) error {
	return s.api(ctx, http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", programID), nil, nil)
}

func (s *Stack) purchase(ctx context.Context, id, customer string) error {
	return s.api(ctx, http.StatusCreated, "POST", "/v1/purchases", map[string]any{
		"external_id": id, "customer_id": customer, "amount": "1290000", "currency": "KRW",
		"category": "가전", "product": "냉장고", "store": "강남점", "purchased_at": time.Now().Format(time.RFC3339Nano),
	}, nil)
}

func (s *Stack) ids(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := s.Store.Pool().Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// enrolments lists the program's enrolments.
func (s *Stack) enrolments(ctx context.Context, programID int64) ([]store.Enrolment, error) {
	rows, err := s.Store.Pool().Query(ctx, `SELECT id, workflow_id, status, coalesce(outcome, '') FROM enrolments WHERE program_id = $1 ORDER BY id`, programID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Enrolment
	for rows.Next() {
		var e store.Enrolment
		var outcome string
		if err := rows.Scan(&e.ID, &e.WorkflowID, &e.Status, &outcome); err != nil {
			return nil, err
		}
		if outcome != "" {
			e.Outcome = &outcome
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// end waits until the program has n enrolments, all ended with the
// outcome and their runs closed (a birthday program is stopped first),
// then stops the program: it enrols nobody else, and an audience
// program's sweep schedule is deleted.
func (s *Stack) end(ctx context.Context, programID int64, n int, outcome string, touches int) (Run, error) {
	if outcome == domain.OutcomeStopped {
		if err := s.control(ctx, programID, "stop"); err != nil {
			return Run{}, err
		}
	}
	ids, err := s.waitEnded(ctx, programID, n, outcome)
	if err != nil {
		return Run{}, err
	}
	if outcome != domain.OutcomeStopped {
		if err := s.control(ctx, programID, "stop"); err != nil {
			return Run{}, err
		}
	}
	return Run{ProgramID: programID, WorkflowIDs: ids, Touches: touches}, nil
}

func (s *Stack) control(ctx context.Context, programID int64, action string) error {
	return s.api(ctx, http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/%s", programID, action), nil, nil)
}

func (s *Stack) waitEnded(ctx context.Context, programID int64, n int, outcome string) ([]string, error) {
	deadline := time.Now().Add(s.timeout())
	for {
		es, err := s.enrolments(ctx, programID)
		if err != nil {
			return nil, err
		}
		ended := 0
		var ids []string
		for _, e := range es {
			if e.Status == domain.EnrolmentEnded {
				if *e.Outcome != outcome {
					return nil, fmt.Errorf("enrolment %d ended %s, want %s", e.ID, *e.Outcome, outcome)
				}
				ended++
			}
			ids = append(ids, e.WorkflowID)
		}
		if len(es) == n && ended == n {
			// The row is written ended by the run's last activity; the run
			// closes a workflow task later.
			for _, id := range ids {
				if err := s.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
					return nil, fmt.Errorf("workflow %s: %w", id, err)
				}
			}
			return ids, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %s: %d of %d enrolments ended: %+v", s.timeout(), ended, n, es)
		}
		if err := pause(ctx); err != nil {
			return nil, err
		}
	}
}

// Drive runs the kind's n enrolments on the stack and measures their
// histories.
func Drive(ctx context.Context, s *Stack, k Kind, n int) (Row, Run, error) {
	if n <= 0 {
		return Row{}, Run{}, errors.New("historycost: no enrolments to drive")
	}
	run, err := k.Drive(ctx, s, n)
	if err != nil {
		return Row{}, run, fmt.Errorf("historycost: %s: %w", k.Name, err)
	}
	row, err := Measure(ctx, s.Temporal, k.Name, run.WorkflowIDs, run.Touches)
	return row, run, err
}
