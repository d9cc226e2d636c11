package programs

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// send_hour and min_spacing: defaults (10:00, 4h), an explicit 0 kept
// (midnight, no spacing), bounds named in the error, and what is stored
// reads back the same.
func TestPacing(t *testing.T) {
	for _, kind := range []string{KindWelcomeBack, KindDormantWakeup, KindBirthday} {
		p, err := Parse(kind, json.RawMessage(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		pc := reflect.ValueOf(p).Elem().FieldByName("Pacing").Interface().(Pacing)
		if *pc.SendHour != 10 || *pc.MinSpacing != MustOffset("4h") {
			t.Errorf("%s defaults: send_hour %d, min_spacing %s", kind, *pc.SendHour, pc.MinSpacing)
		}
		p, err = Parse(kind, json.RawMessage(`{"send_hour": 0, "min_spacing": "0s"}`))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(p)
		back, err := Decode(kind, raw)
		if err != nil || !reflect.DeepEqual(p, back) {
			t.Errorf("%s: %s reads back as %+v (%v)", kind, raw, back, err)
		}
		pc = reflect.ValueOf(back).Elem().FieldByName("Pacing").Interface().(Pacing)
		if *pc.SendHour != 0 || !pc.MinSpacing.IsZero() {
			t.Errorf("%s: explicit zeros lost: %s", kind, raw)
		}
		for body, field := range map[string]string{
			`{"send_hour": 24}`:      "params.send_hour",
			`{"send_hour": -1}`:      "params.send_hour",
			`{"min_spacing": "8d"}`:  "params.min_spacing",
			`{"min_spacing": "1mo"}`: "params.min_spacing",
		} {
			_, err := Parse(kind, json.RawMessage(body))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != field {
				t.Errorf("%s %s: %v, want an error on %s", kind, body, err, field)
			}
		}
	}
	if _, err := Parse(KindSecondPurchase, json.RawMessage(`{"send_hour": 9}`)); err == nil {
		t.Error("second_purchase takes a send_hour (its messages go in the daytime)")
	}
}
