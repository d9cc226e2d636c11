package programs

import (
	"encoding/json"
	"testing"
)

func TestSameSteps(t *testing.T) {
	parse := func(kind, s string) Params {
		p, err := Parse(kind, json.RawMessage(s))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := parse(KindWelcomeBack, `{}`)
	if !SameSteps(base, parse(KindWelcomeBack, `{"greeting":{"text":"new words {{.Coupon}}"}}`)) {
		t.Error("a greeting text edit is not a step change")
	}
	if SameSteps(base, parse(KindWelcomeBack, `{"reminder_before":"3d"}`)) {
		t.Error("moving the reminder is a step change")
	}
	if SameSteps(base, parse(KindWelcomeBack, `{"coupon":{"value":"5000"}}`)) {
		t.Error("a coupon change is a step change")
	}
	hc := parse(KindHappyCall, `{"touches":[{"offset":"3d","sms":"a"}]}`)
	if !SameSteps(hc, parse(KindHappyCall, `{"touches":[{"offset":"3d","sms":"b"}]}`)) {
		t.Error("happy call text edit")
	}
	if SameSteps(hc, parse(KindHappyCall, `{"touches":[{"offset":"4d","sms":"a"}]}`)) {
		t.Error("happy call offset change")
	}
}

func TestSameStepsHappyCallChannels(t *testing.T) {
	a, _ := Parse(KindHappyCall, json.RawMessage(`{"touches":[{"offset":"3d","call":true,"sms":"a"}]}`))
	b, _ := Parse(KindHappyCall, json.RawMessage(`{"touches":[{"offset":"3d","call":true}]}`))
	if SameSteps(a, b) {
		t.Error("dropping a touch's SMS is a step change")
	}
}
