package enrol_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

func parse(t *testing.T, kind, raw string) programs.Params {
	t.Helper()
	p, err := programs.Parse(kind, json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var member = enrol.Member{EnrolmentID: 70, WorkflowID: "wf/70", CustomerID: 700, TimeZone: "Asia/Seoul",
	BirthMonth: time.June, BirthDay: 15, PurchaseID: 9000, PurchasedAt: time.Date(2027, 5, 10, 14, 0, 0, 0, time.UTC)}

// Every kind is started by For: the workflow registered for it, the id
// stored with the enrolment, re-entry allowed for segment programs only,
// and an input that pins the plan. Inputs carry no message text and no
// audience: the defaults' texts and the filter never appear in them.
func TestForEveryKind(t *testing.T) {
	for _, c := range []struct {
		kind, workflow string
		reuse          bool
	}{
		{programs.KindHappyCall, enrol.WorkflowHappyCall, false},
		{programs.KindSecondPurchase, enrol.WorkflowSecondPurchase, false},
		{programs.KindWelcomeBack, enrol.WorkflowWelcomeBack, true},
		{programs.KindDormantWakeup, enrol.WorkflowDormantWakeup, true},
		{programs.KindBirthday, enrol.WorkflowBirthday, true},
	} {
		t.Run(c.kind, func(t *testing.T) {
			params := parse(t, c.kind, `{}`)
			spec, err := enrol.For(enrol.Program{ID: 7, Kind: c.kind, Version: 3, Params: params}, member)
			if err != nil {
				t.Fatal(err)
			}
			if spec.Workflow != c.workflow || spec.WorkflowID != "wf/70" || spec.Reuse != c.reuse || spec.Kind != c.kind {
				t.Fatalf("spec %+v", spec)
			}
			want := enrol.Enrolment{ProgramID: 7, ProgramVersion: 3, EnrolmentID: 70, CustomerID: 700, TimeZone: "Asia/Seoul", StarterMarksActive: true}
			if spec.Enrolment != want {
				t.Fatalf("enrolment %+v", spec.Enrolment)
			}
			raw, err := json.Marshal(spec.Input)
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := json.Marshal(params)
			for _, text := range texts(stored) {
				if strings.Contains(string(raw), text) {
					t.Errorf("input carries the text %q: %s", text, raw)
				}
			}
			for _, field := range []string{"audience", "Audience", "Params", "consent"} {
				if strings.Contains(string(raw), `"`+field+`"`) {
					t.Errorf("input carries %s: %s", field, raw)
				}
			}
			if !strings.Contains(string(raw), `"Timing"`) {
				t.Errorf("input pins no timing: %s", raw)
			}
		})
	}
}

// texts collects the message texts of stored params.
func texts(raw []byte) []string {
	var v any
	_ = json.Unmarshal(raw, &v)
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if s, ok := x.(string); ok && (k == "text" || k == "subject" || k == "sms" || k == "fallback_sms" || k == "call_script" || k == "email") && len(s) > 3 {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// Programs that follow a purchase cannot start without it; an enrolment
// without its stored workflow id cannot start at all.
func TestForRefusesIncompleteEnrolments(t *testing.T) {
	noPurchase := member
	noPurchase.PurchaseID = 0
	if _, err := enrol.For(enrol.Program{ID: 7, Kind: programs.KindHappyCall, Params: parse(t, programs.KindHappyCall, `{}`)}, noPurchase); !errors.Is(err, enrol.ErrNotStartable) {
		t.Fatalf("happy call without purchase: %v", err)
	}
	noID := member
	noID.WorkflowID = ""
	if _, err := enrol.For(enrol.Program{ID: 7, Kind: programs.KindWelcomeBack, Params: parse(t, programs.KindWelcomeBack, `{}`)}, noID); !errors.Is(err, enrol.ErrNotStartable) {
		t.Fatalf("no workflow id: %v", err)
	}
}

// The send hour and spacing a marketer sets are pinned; defaults are
// 10:00 and 4 hours; plans in seconds and minutes run on exact time.
func TestTimingPinned(t *testing.T) {
	wb := enrol.PlanWelcomeBack(*parse(t, programs.KindWelcomeBack, `{"send_hour": 0, "min_spacing": "0s", "send_spread": "0s"}`).(*programs.WelcomeBack))
	if wb.Timing != (enrol.Timing{From: 0, To: 1}) {
		t.Fatalf("midnight, no spacing: %+v", wb.Timing)
	}
	d := enrol.PlanDormantWakeup(*parse(t, programs.KindDormantWakeup, `{}`).(*programs.DormantWakeup))
	if d.Timing != (enrol.Timing{From: 10, To: 11, MinSpacing: programs.MustOffset("4h"), SpreadSeconds: 1800}) {
		t.Fatalf("defaults: %+v", d.Timing)
	}
	sp := enrol.PlanSecondPurchase(*parse(t, programs.KindSecondPurchase, `{"coupon_after": "2s", "min_spacing": "1m"}`).(*programs.SecondPurchase))
	if sp.Timing != (enrol.Timing{Exact: true, From: enrol.DaytimeFrom, To: enrol.DaytimeTo, MinSpacing: programs.MustOffset("1m"), SpreadSeconds: 1800}) {
		t.Fatalf("second purchase in seconds: %+v", sp.Timing)
	}
	for _, c := range []struct {
		offsets []string
		exact   bool
	}{
		{[]string{"2s", "4s", "30m"}, true},
		{[]string{"0s", "2s"}, true},
		{[]string{"0s"}, false},
		{[]string{"2s", "1h"}, false},
		{[]string{"72h"}, false},
		{[]string{"30s", "1d"}, false},
		{[]string{"1mo"}, false},
	} {
		var os []programs.Offset
		for _, o := range c.offsets {
			os = append(os, programs.MustOffset(o))
		}
		if got := enrol.ExactPlan(os...); got != c.exact {
			t.Errorf("ExactPlan(%v) = %v", c.offsets, got)
		}
	}
}

// Inputs written before plans were pinned (committed histories carry
// them) still decode: their parameters give the same plan as the program
// would today, with the default send hour and spacing.
func TestLegacyInputsDecode(t *testing.T) {
	old := `{"ProgramID":7,"ProgramVersion":1,"EnrolmentID":70,"CustomerID":700,"TimeZone":"Asia/Seoul",
		"Params":{"audience":{"consent":"sms"},"hour":0,"time_zone":"Asia/Seoul","cooldown":"180d","lapsed_days":90,"channel":"sms",
		"coupon":{"kind":"amount","value":"10000","currency":"KRW","valid_for":"60s"},"reminder_before":"25s",
		"greeting":{"text":"안녕 {{.Name}}"},"reminder":{"text":"곧 만료"}}}`
	var in enrol.WelcomeBackInput
	if err := json.Unmarshal([]byte(old), &in); err != nil {
		t.Fatal(err)
	}
	if in.Plan != nil || in.LegacyParams == nil {
		t.Fatalf("decoded %+v", in)
	}
	got := in.LegacyParams.Plan()
	want := enrol.WelcomeBackPlan{Channel: "sms", Coupon: programs.Coupon{Kind: "amount", Value: "10000", Currency: "KRW", ValidFor: programs.MustOffset("60s")},
		ReminderBefore: programs.MustOffset("25s"), Timing: enrol.Timing{Exact: true, From: 10, To: 11, MinSpacing: programs.MustOffset("4h")},
		GreetingPurpose: "marketing", ReminderPurpose: "service"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("plan %+v, want %+v", got, want)
	}
	back, _ := json.Marshal(in)
	if strings.Contains(string(back), "안녕") || strings.Contains(string(back), "audience") {
		t.Fatalf("texts survive a round trip: %s", back)
	}

	var b enrol.BirthdayInput
	if err := json.Unmarshal([]byte(`{"Params":{"card_before":"7d","send_hour":9,"coupon":{"kind":"amount","value":"5000","valid_for":"14d"},"card":{"text":"x"}},"Month":6,"Day":15}`), &b); err != nil {
		t.Fatal(err)
	}
	if p := b.LegacyParams.Plan(); p.Timing.From != 9 || p.CardBefore != programs.MustOffset("7d") {
		t.Fatalf("birthday plan %+v", p)
	}
}

// Every planned step carries its purpose: the one the marketer set, else
// the kind's default; a plan pinned before purposes existed (empty) means
// the default.
func TestPlansCarryPurposes(t *testing.T) {
	start := func(kind, raw string) any {
		t.Helper()
		spec, err := enrol.For(enrol.Program{ID: 7, Kind: kind, Version: 1, Params: parse(t, kind, raw)}, member)
		if err != nil {
			t.Fatal(err)
		}
		return spec.Input
	}
	hc := start(programs.KindHappyCall, `{"touches":[{"key":"a","offset":"3d","call":true},{"key":"b","offset":"1y","sms":"x","purpose":"marketing"}]}`).(enrol.HappyCallInput)
	if hc.Steps[0].Purpose != "service" || hc.Steps[1].Purpose != "marketing" {
		t.Errorf("happy call steps %+v", hc.Steps)
	}
	if got := enrol.HappyCallPurpose(programs.Step{Key: "a"}); got != "service" {
		t.Errorf("happy call step without purpose: %q", got)
	}

	wb := start(programs.KindWelcomeBack, `{"reminder":{"text":"x","purpose":"marketing"}}`).(enrol.WelcomeBackInput).Plan
	if wb.GreetingPurpose != "marketing" || wb.ReminderPurpose != "marketing" {
		t.Errorf("welcome back plan %+v", wb)
	}
	if old := (enrol.WelcomeBackPlan{}); old.Purpose(programs.StepGreeting) != "marketing" || old.Purpose(programs.StepReminder) != "service" {
		t.Errorf("welcome back plan without purposes")
	}

	d := start(programs.KindDormantWakeup, `{"steps":[{"key":"a","offset":"0d","channel":"sms","message":{"text":"x"},"purpose":"service"},{"key":"b","offset":"1d","channel":"sms","coupon":true,"message":{"text":"x"}}]}`).(enrol.DormantWakeupInput).Plan
	if d.Steps[0].Purpose != "service" || d.Steps[1].Purpose != "marketing" || d.Steps[0].PurposeOf() != "service" {
		t.Errorf("wake-up plan %+v", d.Steps)
	}
	if got := (enrol.WakeupStep{Key: "a"}).PurposeOf(); got != "marketing" {
		t.Errorf("wake-up step without purpose: %q", got)
	}

	b := start(programs.KindBirthday, `{"card":{"subject":"s","text":"x","purpose":"service"}}`).(enrol.BirthdayInput).Plan
	if b.CardPurpose != "service" || b.GreetingPurpose != "marketing" || b.Purpose(programs.StepCard) != "service" {
		t.Errorf("birthday plan %+v", b)
	}
	if old := (enrol.BirthdayPlan{}); old.Purpose(programs.StepCard) != "marketing" || old.Purpose(programs.StepGreeting) != "marketing" {
		t.Errorf("birthday plan without purposes")
	}

	sp := start(programs.KindSecondPurchase, `{}`).(enrol.SecondPurchaseInput).Plan
	if sp.ThankYouPurpose != "service" || sp.CouponPurpose != "marketing" {
		t.Errorf("second purchase plan %+v", sp)
	}
	if old := (enrol.SecondPurchasePlan{}); old.Purpose(programs.StepThankYou) != "service" || old.Purpose(programs.StepCoupon) != "marketing" {
		t.Errorf("second purchase plan without purposes")
	}

	// A legacy input's plan takes the defaults.
	var lb enrol.BirthdayInput
	if err := json.Unmarshal([]byte(`{"Params":{"card_before":"7d","card":{"text":"x"}},"Month":6,"Day":15}`), &lb); err != nil {
		t.Fatal(err)
	}
	if p := lb.LegacyParams.Plan(); p.CardPurpose != "marketing" || p.GreetingPurpose != "marketing" {
		t.Errorf("legacy birthday plan %+v", p)
	}
}

// Follow-ups of a purchase are pinned with the daytime spread (the
// default send_spread, 30 minutes), as segment programs are with theirs,
// so a night of purchases is not all released at 10:00:00. Inputs pinned
// before it, or carrying no timing, keep releasing at 10:00 sharp.
func TestPurchaseFollowUpsPinTheSpread(t *testing.T) {
	daytime := enrol.Timing{From: enrol.DaytimeFrom, To: enrol.DaytimeTo, MinSpacing: programs.MustOffset("4h")}
	spread := daytime
	spread.SpreadSeconds = 1800

	hc, err := enrol.For(enrol.Program{ID: 7, Kind: programs.KindHappyCall, Version: 1, Params: parse(t, programs.KindHappyCall, `{}`)}, member)
	if err != nil {
		t.Fatal(err)
	}
	in := hc.Input.(enrol.HappyCallInput)
	if in.Timing == nil || *in.Timing != spread {
		t.Fatalf("happy call pinned %+v, want %+v", in.Timing, spread)
	}
	if got := enrol.LegacyHappyCallTiming(in.Steps, in.CallWindow); got != daytime {
		t.Fatalf("happy call input without a timing: %+v, want %+v", got, daytime)
	}

	sp, err := enrol.For(enrol.Program{ID: 7, Kind: programs.KindSecondPurchase, Version: 1, Params: parse(t, programs.KindSecondPurchase, `{}`)}, member)
	if err != nil {
		t.Fatal(err)
	}
	if got := sp.Input.(enrol.SecondPurchaseInput).Plan.Timing; got != spread {
		t.Fatalf("second purchase pinned %+v, want %+v", got, spread)
	}
	var old enrol.SecondPurchaseInput
	if err := json.Unmarshal([]byte(`{"ProgramID":7,"EnrolmentID":70,"CustomerID":700,"PurchaseID":9000,
		"Params":{"channel":"sms","coupon_after":"14d","coupon":{"kind":"percent","value":"10","valid_for":"30d"}}}`), &old); err != nil {
		t.Fatal(err)
	}
	if got := old.LegacyParams.Plan().Timing; got != daytime {
		t.Fatalf("second purchase input from before pinned plans: %+v, want %+v", got, daytime)
	}
}
