package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// Erasure: a customer with a full history (a happy call with a completed
// call and an open one, a second-purchase coupon, a welcome-back coupon, a
// dormant wake-up with a survey answer, a birthday enrolment; SMS through
// the Twilio stand-in, mail through the catcher) is erased. Then no text,
// varchar or JSON column of any table holds their name, phone (in any
// form) or email (or its local part); their running enrolments end as
// "erased"; every program's enrolment count is unchanged; a second DELETE
// is 404 and a later PUT of the same external id is a new customer.
func TestErasureLeavesNoPersonalData(t *testing.T) {
	s := newStack(t)
	// Marketing mail carries an unsubscribe link, which needs a secret.
	s.acts.LinkSecret = []byte("erasure-e2e-link-secret-0123456789abcdef")
	s.startWorker()
	ctx := context.Background()
	const (
		ext   = "erase-me"
		name  = "홍길동테스트"
		phone = "+821055501234"
		email = "gildong.hong@example.com"
	)
	s.must(http.StatusCreated, "PUT", "/v1/customers/"+ext, map[string]any{
		"name": name, "phone": phone, "email": email, "birthday": "1990-12-24", "time_zone": "Asia/Seoul",
		"consent": map[string]any{
			"sms":   map[string]any{"granted": true, "source": "pos " + name},
			"email": map[string]any{"granted": true, "source": "web"},
			"call":  map[string]any{"granted": true, "source": "pos"},
		},
	}, nil)
	// A bystander, whose data must stay.
	s.putCustomer("keep-me", "+821055509999", "keep@example.com")

	var happy, second, welcome, dormant, birthday programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "재구입", "kind": "second_purchase", "params": map[string]any{
		"coupon_after": "1s", "coupon": map[string]any{"kind": "percent", "value": "15", "valid_for": "1h"},
	}}, &second)
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call", "params": map[string]any{
		"categories": []string{"가전"}, "call_window": "60s",
		"touches": []map[string]any{
			{"key": "3d", "offset": "1s", "sms": "{{.Name}}님, {{.Product}} 감사합니다.", "email_subject": "{{.Name}}님 감사합니다", "email": "{{.Name}}님, 설명서입니다."},
			{"key": "1mo", "offset": "2s", "call": true, "fallback_sms": "{{.Name}}님, 통화가 어려웠습니다."},
			{"key": "3mo", "offset": "3s", "call": true, "fallback_sms": "{{.Name}}님, 다시 연락드릴게요."},
		},
	}}, &happy)
	if p := s.postPurchase("erase-o-1", ext, "가전", time.Now(), http.StatusCreated); len(p.Enrolments) != 2 {
		t.Fatalf("purchase enrolled %d times, want happy call and second purchase", len(p.Enrolments))
	}
	openTask := func(notID int64) store.CallTask {
		var task store.CallTask
		eventually(t, 20*time.Second, "open call task", func() bool {
			var out struct {
				CallTasks []store.CallTask `json:"call_tasks"`
			}
			s.must(http.StatusOK, "GET", "/v1/call-tasks?status=open", nil, &out)
			for _, c := range out.CallTasks {
				if c.ID != notID {
					task = c
					return true
				}
			}
			return false
		})
		return task
	}
	first := openTask(0)
	s.must(http.StatusOK, "POST", fmt.Sprintf("/v1/call-tasks/%d/complete", first.ID), map[string]any{
		"outcome": "reached", "note": name + "님 01055501234 / " + email + " 냉장고 소음",
	}, nil)
	openTask(first.ID) // the 3mo call stays open until the erasure

	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "컴백", "kind": "welcome_back", "params": map[string]any{
		"audience": map[string]any{"last_purchase_older_than_days": 0}, "holdout_percent": 0,
		"coupon": map[string]any{"kind": "amount", "value": "10000", "valid_for": "5m"}, "reminder_before": "4m",
	}}, &welcome)
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "휴면", "kind": "dormant_wakeup", "params": map[string]any{
		"audience": map[string]any{"last_purchase_older_than_days": 0}, "holdout_percent": 0,
		"steps": []map[string]any{
			{"key": "d0", "offset": "0s", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님, 잘 지내시죠?"}},
			{"key": "d1", "offset": "1s", "channel": "email", "survey": true, "message": map[string]any{"subject": "{{.Name}}님 의견", "text": "알려주세요: {{.SurveyURL}}"}},
		},
	}}, &dormant)
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "생일", "kind": "birthday", "params": map[string]any{"holdout_percent": 0}}, &birthday)
	for _, p := range []programOut{welcome, dormant, birthday} {
		s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", p.ID), nil, nil)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var raw map[string]any
			s.call("GET", "/v1/customers/"+ext+"/journey", nil, &raw)
			t.Logf("journey: %v", raw)
		}
	})
	s.waitOutcome(t, ext, dormant.ID, domain.OutcomeDormant, 30*time.Second)
	var link string
	for _, m := range s.mail.Messages() {
		if l := regexp.MustCompile(`http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_=\-]+`).FindString(strings.ReplaceAll(m.MsgRequest(), "=\r\n", "")); l != "" {
			link = l
		}
	}
	if link == "" {
		t.Fatal("no survey link in the mails")
	}
	resp, err := http.PostForm(link, url.Values{"answer": {name + "입니다. 전화 01055501234, 메일 " + email}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("survey answer: %v %v", resp, err)
	}
	resp.Body.Close()
	// A reply by SMS, kept as the customer's voice with their phone.
	s.reply("SMe0000000000000000000000000000001", phone, name+"입니다, 메일은 "+email)
	eventually(t, 20*time.Second, "the live enrolments and their messages", func() bool {
		live := 0
		for _, p := range []programOut{happy, second, welcome, birthday} {
			if es := s.enrolmentsOf(t, ext, p.ID); len(es) == 1 && es[0].Status == domain.EnrolmentActive {
				live++
			}
		}
		// thank-you SMS, coupon SMS, welcome-back greeting, wake-up SMS
		return live == 4 && len(s.smsTo(phone)) >= 4 && len(s.mail.Messages()) >= 2
	})
	cust, err := s.st.CustomerByExternalID(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	needles := []string{name, phone, strings.TrimPrefix(phone, "+"), "01055501234", email, "gildong.hong"}
	found := scanAll(t, s, needles)
	if len(found) == 0 {
		t.Fatal("the scan finds nothing before the erasure: it cannot fail")
	}
	t.Logf("before the erasure:\n%s", strings.Join(found, "\n"))
	counts := func() map[int64]map[string]int {
		out := map[int64]map[string]int{}
		for _, p := range []programOut{happy, second, welcome, dormant, birthday} {
			var got struct {
				Enrolments map[string]int `json:"enrolments"`
			}
			s.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d", p.ID), nil, &got)
			out[p.ID] = got.Enrolments
		}
		return out
	}
	before := counts()
	sent := len(s.standin.Messages())

	var erased struct {
		Erasure struct {
			ID     int64        `json:"id"`
			Actor  string       `json:"actor"`
			FanOut store.FanOut `json:"fan_out"`
		} `json:"erasure"`
	}
	s.must(http.StatusAccepted, "DELETE", "/v1/customers/"+ext, nil, &erased)
	if erased.Erasure.Actor != "e2e" || erased.Erasure.FanOut.Total != 4 {
		t.Fatalf("erasure %+v, want actor e2e and 4 enrolments to end", erased.Erasure)
	}
	eventually(t, 20*time.Second, "enrolments to end as erased", func() bool {
		es, err := s.st.CustomerEnrolments(ctx, cust.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Status != domain.EnrolmentEnded {
				return false
			}
		}
		return true
	})
	es, _ := s.st.CustomerEnrolments(ctx, cust.ID)
	for _, e := range es {
		if want := domain.OutcomeErased; e.ProgramID == dormant.ID {
			want = domain.OutcomeDormant
			if *e.Outcome != want {
				t.Fatalf("program %d enrolment ended %s, want %s", e.ProgramID, *e.Outcome, want)
			}
		} else if *e.Outcome != want {
			t.Fatalf("program %d enrolment ended %s, want %s", e.ProgramID, *e.Outcome, want)
		}
	}
	if found := scanAll(t, s, needles); len(found) != 0 {
		t.Fatalf("personal data left after erasure:\n%s", strings.Join(found, "\n"))
	}
	// The bystander is untouched (the scan is not blind).
	if found := scanAll(t, s, []string{"+821055509999", "keep@example.com"}); len(found) == 0 {
		t.Fatal("the bystander's data is gone too")
	}
	// Counts: every program has as many enrolments as before; the ended
	// ones keep their outcome, the live ones ended "erased".
	after := counts()
	for id, b := range before {
		total := func(m map[string]int) (n int) {
			for _, v := range m {
				n += v
			}
			return n
		}
		if total(b) != total(after[id]) || b["ended:"+domain.OutcomeDormant] != after[id]["ended:"+domain.OutcomeDormant] {
			t.Fatalf("program %d enrolments %v before, %v after", id, b, after[id])
		}
	}
	var open, unexpired int
	_ = s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM call_tasks WHERE customer_id = $1 AND status = 'open'`, cust.ID).Scan(&open)
	_ = s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM coupons WHERE customer_id = $1 AND redeemed_at IS NULL AND expires_at > now()`, cust.ID).Scan(&unexpired)
	if open != 0 || unexpired != 0 {
		t.Fatalf("%d open call tasks and %d usable coupons after erasure", open, unexpired)
	}
	// The survey link is dead; nothing more goes out.
	if resp, err := http.PostForm(link, url.Values{"answer": {name}}); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("survey answer after erasure: %v %v", resp, err)
	}
	if n := len(s.standin.Messages()); n != sent {
		t.Fatalf("%d SMS after the erasure", n-sent)
	}
	// Idempotent: the external id is freed with the data.
	s.must(http.StatusNotFound, "DELETE", "/v1/customers/"+ext, nil, nil)
	s.must(http.StatusNotFound, "GET", "/v1/customers/"+ext, nil, nil)
	s.putCustomer(ext, "+821055500000", "")
	if again, _ := s.st.CustomerByExternalID(ctx, ext); again.ID == cust.ID {
		t.Fatal("a PUT after erasure revived the erased customer")
	}
}

// scanAll searches every text, varchar and JSON column of every table for
// each needle; it returns table.column: needle for each hit.
func scanAll(t *testing.T, s *stack, needles []string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := s.st.Pool().Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED')
		ORDER BY table_name, column_name`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var c [2]string
		err := r.Scan(&c[0], &c[1])
		return c, err
	})
	if err != nil || len(cols) < 20 {
		t.Fatalf("%d columns: %v", len(cols), err)
	}
	var found []string
	for _, c := range cols {
		table, col := pgx.Identifier{c[0]}.Sanitize(), pgx.Identifier{c[1]}.Sanitize()
		for _, n := range needles {
			var hits int
			q := `SELECT count(*) FROM ` + table + ` WHERE strpos(lower(` + col + `::text), lower($1)) > 0`
			if err := s.st.Pool().QueryRow(ctx, q, n).Scan(&hits); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if hits > 0 {
				found = append(found, fmt.Sprintf("%s.%s: %q in %d rows", c[0], c[1], n, hits))
			}
		}
	}
	return found
}
