package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/internal/testenv"
)

type programPreviewOut struct {
	ProgramID *int64 `json:"program_id"`
	Kind      string `json:"kind"`
	Customer  struct {
		Sample     bool   `json:"sample"`
		ExternalID string `json:"external_id"`
		Name       string `json:"name"`
		Country    string `json:"country"`
		TimeZone   string `json:"time_zone"`
	} `json:"customer"`
	Sample []string `json:"sample"`
	Steps  []struct {
		Step       string     `json:"step"`
		Field      string     `json:"field"`
		Channel    string     `json:"channel"`
		CallTask   bool       `json:"call_task"`
		Purpose    string     `json:"purpose"`
		Subject    string     `json:"subject"`
		Body       string     `json:"body"`
		Segments   int        `json:"segments"`
		Encoding   string     `json:"encoding"`
		Units      int        `json:"units"`
		DueAt      time.Time  `json:"due_at"`
		SendsAt    *time.Time `json:"sends_at"`
		HeldReason string     `json:"held_reason"`
		Problem    string     `json:"problem"`
	} `json:"steps"`
}

var kst = time.FixedZone("KST", 9*3600)

// previewSettings are lawful Korean settings with the quiet hours of the
// defaults (KR 21:00-08:00 marketing, US 21:00-08:00 everything) and no
// spread, so a release lands on 08:00:00.
func previewSettings() compliance.Settings {
	s := testenv.AnyHourSettings()
	s.QuietHours = compliance.Defaults().QuietHours
	s.ReleaseSpreadMinutes = 0
	return s
}

// wakeupDraft is a dormant wake-up (marketing by default) whose steps
// are minutes apart, so it runs on exact time: due is at + offset.
func wakeupDraft() map[string]any {
	return map[string]any{"name": "미리보기", "kind": "dormant_wakeup", "params": map[string]any{"steps": []any{
		map[string]any{"key": "s1", "offset": "30m", "channel": "sms", "message": map[string]any{"text": "(광고) {{.Name}}님, 오랜만이에요. 쿠폰 {{.Coupon}}", "subject": ""}, "coupon": true},
		map[string]any{"key": "s2", "offset": "40m", "channel": "email", "message": map[string]any{"subject": "{{.Name}}님께", "text": "새 소식이에요"}},
	}}}
}

func TestPreviewKoreanMarketingSMS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	testenv.PutSettings(t, e.st, previewSettings())
	at := time.Date(2030, 3, 4, 22, 0, 0, 0, kst)
	var out programPreviewOut
	e.must(http.StatusOK, "POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "at": at.Format(time.RFC3339)}, &out)
	if !out.Customer.Sample || out.Customer.Name != "김단골" || out.Customer.Country != "KR" || out.Customer.TimeZone != "Asia/Seoul" || out.ProgramID != nil {
		t.Fatalf("customer %+v (program %v): want the labelled sample", out.Customer, out.ProgramID)
	}
	if len(out.Steps) != 2 {
		t.Fatalf("steps %+v", out.Steps)
	}
	sms := out.Steps[0]
	if sms.Step != "s1" || sms.Channel != "sms" || sms.Purpose != "marketing" || sms.Problem != "" {
		t.Fatalf("sms step %+v", sms)
	}
	if strings.Count(sms.Body, "(광고)") != 1 || !strings.HasPrefix(sms.Body, "(광고)단골상점 ") ||
		!strings.HasSuffix(sms.Body, "\n무료수신거부 080-555-0100") || !strings.Contains(sms.Body, "SAMPLE-CODE") {
		t.Fatalf("sms body %q: want one (광고) and the sender first, the 080 line last, the sample coupon", sms.Body)
	}
	enc, segs, units := compliance.Segments(sms.Body)
	if sms.Encoding != "UCS-2" || enc != sms.Encoding || sms.Segments != segs || sms.Units != units || segs < 1 {
		t.Fatalf("sms %s %d segments %d units; body counts %s %d %d", sms.Encoding, sms.Segments, sms.Units, enc, segs, units)
	}
	// Due 22:30 KST, inside Korean quiet hours for marketing: 08:00 KST
	// the next morning.
	if want := time.Date(2030, 3, 4, 22, 30, 0, 0, kst); !sms.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", sms.DueAt, want)
	}
	if want := time.Date(2030, 3, 5, 8, 0, 0, 0, kst); sms.SendsAt == nil || !sms.SendsAt.Equal(want) || sms.HeldReason != "quiet hours" {
		t.Fatalf("sends at %v (%q), want %v held for quiet hours", sms.SendsAt, sms.HeldReason, want)
	}
	mail := out.Steps[1]
	if mail.Channel != "email" || !strings.HasPrefix(mail.Subject, "(광고) ") || !strings.Contains(mail.Body, "/u/SAMPLE-TOKEN") ||
		!strings.Contains(mail.Body, "단골상점") || mail.Segments != 0 || mail.Problem != "" {
		t.Fatalf("mail %+v: want the (광고) subject and the footer with the unsubscribe link", mail)
	}
}

func TestPreviewServiceAndUSCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	testenv.PutSettings(t, e.st, previewSettings())
	e.must(http.StatusCreated, "PUT", "/v1/customers/us-1", map[string]any{"name": "Jane", "phone": "+12025550143",
		"time_zone": "America/New_York", "country": "US", "consent": map[string]any{"sms": grant(true, "pos")}}, nil)
	ny, _ := time.LoadLocation("America/New_York")

	// A happy call touch (service) a minute after 22:59 KST goes at 23:00:
	// Korean quiet hours hold only advertising.
	var program programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "감사", "kind": "happy_call", "params": map[string]any{
		"touches": []any{map[string]any{"key": "thanks", "offset": "1m", "sms": "[{{.Store}}] {{.Name}}님, {{.Product}} 구매 감사합니다."}}}}, &program)
	var svc programPreviewOut
	e.must(http.StatusOK, "POST", fmt.Sprintf("/v1/programs/%d/preview", program.ID),
		map[string]any{"at": time.Date(2030, 3, 4, 22, 59, 0, 0, kst).Format(time.RFC3339)}, &svc)
	st := svc.Steps[0]
	want := time.Date(2030, 3, 4, 23, 0, 0, 0, kst)
	if len(svc.Steps) != 1 || st.Purpose != "service" || st.SendsAt == nil || !st.SendsAt.Equal(want) || st.HeldReason != "" ||
		strings.Contains(st.Body, "(광고)") || !strings.Contains(st.Body, "샘플") || svc.ProgramID == nil || *svc.ProgramID != program.ID {
		t.Fatalf("service preview %+v: want it to go at %v, undecorated, with the sample purchase", svc, want)
	}

	// The US customer's marketing SMS due at 22:30 in New York goes at
	// 08:00 New York time, with the STOP line.
	var us programPreviewOut
	e.must(http.StatusOK, "POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "customer_id": "us-1",
		"at": time.Date(2030, 3, 4, 22, 0, 0, 0, ny).Format(time.RFC3339)}, &us)
	sms := us.Steps[0]
	if us.Customer.Sample || us.Customer.Country != "US" || us.Customer.ExternalID != "us-1" {
		t.Fatalf("customer %+v", us.Customer)
	}
	if want := time.Date(2030, 3, 5, 8, 0, 0, 0, ny); sms.SendsAt == nil || !sms.SendsAt.Equal(want) || sms.HeldReason != "quiet hours" {
		t.Fatalf("US sends at %v (%q), want %v", sms.SendsAt, sms.HeldReason, want)
	}
	if strings.Contains(sms.Body, "단골상점") || strings.Contains(sms.Body, "080") || !strings.HasSuffix(sms.Body, compliance.StopLine) {
		t.Fatalf("US body %q", sms.Body)
	}
}

func TestPreviewSettingsIncomplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := previewSettings()
	s.OptOutNumber = ""
	testenv.PutSettings(t, e.st, s)
	var out programPreviewOut
	e.must(http.StatusOK, "POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft()}, &out)
	if p := out.Steps[0].Problem; !strings.Contains(p, "settings incomplete") || !strings.Contains(p, "opt_out_number") || out.Steps[0].SendsAt != nil {
		t.Fatalf("sms step %+v: want the problem naming opt_out_number", out.Steps[0])
	}
	if out.Steps[1].Problem != "" {
		t.Fatalf("mail needs no 080 number: %+v", out.Steps[1])
	}
}

func TestPreviewBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := map[string]any{"name": "x", "kind": "happy_call", "params": map[string]any{"touches": []any{map[string]any{"offset": "soon", "sms": "x"}}}}
	e.call("POST", "/v1/programs:preview", map[string]any{"program": bad}).wantProblem(t, http.StatusBadRequest, "program.params.touches[0].offset")
	e.call("POST", "/v1/programs:preview", map[string]any{"program": with(wakeupDraft(), map[string]any{"kind": "nope"})}).
		wantProblem(t, http.StatusBadRequest, "program.kind")
	e.call("POST", "/v1/programs:preview", map[string]any{"program": with(wakeupDraft(), map[string]any{"name": ""})}).
		wantProblem(t, http.StatusBadRequest, "program.name")
	e.call("POST", "/v1/programs:preview", map[string]any{}).wantProblem(t, http.StatusBadRequest, "program")
	e.call("POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "at": "tomorrow"}).wantProblem(t, http.StatusBadRequest, "at")
	e.call("POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "at": "9999-01-01T00:00:00Z"}).wantProblem(t, http.StatusBadRequest, "at")
	e.call("POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "customer_id": "a b"}).wantProblem(t, http.StatusBadRequest, "customer_id")
	e.call("POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "customer_id": "nobody"}).wantProblem(t, http.StatusNotFound, "")
	e.call("POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "extra": 1}).wantProblem(t, http.StatusBadRequest, "extra")
	e.call("POST", "/v1/programs/999999/preview", nil).wantProblem(t, http.StatusNotFound, "")
	var p programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, &p)
	path := fmt.Sprintf("/v1/programs/%d/preview", p.ID)
	e.call("POST", path, map[string]any{"customer_id": "nobody"}).wantProblem(t, http.StatusNotFound, "")
	e.call("POST", path, map[string]any{"at": "2030-01-01"}).wantProblem(t, http.StatusBadRequest, "at")
	e.call("POST", path, `{"customer_id": 5}`).wantProblem(t, http.StatusBadRequest, "customer_id")
	e.must(http.StatusOK, "POST", path, " ", nil)
}

// TestPreviewWritesNothing previews every kind of program for a real and
// the sample customer and checks no row changed anywhere it could.
func TestPreviewWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	testenv.PutSettings(t, e.st, previewSettings())
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678",
		"email": "minsu@example.com", "birthday": "1990-05-01", "consent": map[string]any{"sms": grant(true, "pos"), "email": grant(true, "pos")}}, nil)
	var ids []int64
	for _, kind := range []string{"happy_call", "welcome_back", "dormant_wakeup", "birthday", "second_purchase"} {
		var p programOut
		e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": kind, "kind": kind}, &p)
		ids = append(ids, p.ID)
	}
	tables := []string{"customers", "purchases", "programs", "program_versions", "enrolments", "messages", "coupons",
		"call_tasks", "consent_events", "consent_notices", "settings", "marketing_sends", "survey_links", "fanouts", "customer_voices", "message_events"}
	counts := func() []int {
		var n []int
		for _, tb := range tables {
			n = append(n, e.count("SELECT count(*) FROM "+tb))
		}
		return n
	}
	before := counts()
	for i, id := range ids {
		var out programPreviewOut
		body := map[string]any{"customer_id": "c-1"}
		if i%2 == 1 {
			body = nil
		}
		e.must(http.StatusOK, "POST", fmt.Sprintf("/v1/programs/%d/preview", id), body, &out)
		if len(out.Steps) == 0 {
			t.Fatalf("program %d: no steps", id)
		}
		calls := 0
		for _, s := range out.Steps {
			if s.Body == "" || s.DueAt.IsZero() || strings.Contains(s.Body, "{{") {
				t.Fatalf("program %d (%s) step %+v", id, out.Kind, s)
			}
			if s.CallTask {
				calls++
				if s.Channel != "call" || s.Field != "call_script" {
					t.Fatalf("call task %+v", s)
				}
			}
		}
		if (out.Kind == "happy_call") != (calls == 3) {
			t.Fatalf("%s: %d call tasks; the default happy call has 3, other kinds none", out.Kind, calls)
		}
		e.must(http.StatusOK, "POST", fmt.Sprintf("/v1/programs/%d/preview", id), map[string]any{"customer_id": "c-1"}, nil)
	}
	e.must(http.StatusOK, "POST", "/v1/programs:preview", map[string]any{"program": wakeupDraft(), "customer_id": "c-1"}, nil)
	if after := counts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("rows of %v before %v, after %v", tables, before, after)
	}
}
