package programs

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseHappyCallDefaults(t *testing.T) {
	h, err := ParseHappyCall(nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range h.Steps() {
		keys = append(keys, s.Key+"="+s.Offset.String())
	}
	if got := fmtList(keys); got != "3d=3d,1mo=1mo,3mo=3mo,1y=1y" {
		t.Errorf("default steps %s", got)
	}
	if h.CallWindow != (Offset{Days: 2}) {
		t.Errorf("call window %v", h.CallWindow)
	}
}

func fmtList(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

func TestParseHappyCallNamesTheField(t *testing.T) {
	cases := map[string]string{
		`{"touches":[{"offset":"3d","call":true},{"offset":"soon","sms":"x"}]}`: "params.touches[1].offset",
		`{"touches":[{"offset":"3d"}]}`:                                         "params.touches[0]",
		`{"touches":[{"offset":"3d","sms":"{{.Nope}}"}]}`:                       "params.touches[0].sms",
		`{"call_window":"2 days"}`:                                              "params.call_window",
		`{"touches":[]}`:                                                        "params.touches",
		`{"colour":"red"}`:                                                      "params.colour",
		`{"touches":"3d"}`:                                                      "params.touches",
		`{"touches":[{"offset":"3d","email":"hi"}]}`:                            "params.touches[0].email_subject",
	}
	for in, field := range cases {
		_, err := ParseHappyCall(json.RawMessage(in))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v, want field %s", in, err, field)
		}
	}
}

func TestParseHappyCallSeconds(t *testing.T) {
	h, err := ParseHappyCall(json.RawMessage(`{"touches":[{"key":"a","offset":"5s","sms":"안녕 {{.Name}}"},{"offset":"10s","call":true,"fallback_sms":"x"}],"call_window":"3s","categories":["가전"]}`))
	if err != nil {
		t.Fatal(err)
	}
	st := h.Steps()
	if len(st) != 2 || st[0].Key != "a" || st[1].Key != "t2" || !st[0].SMS || !st[1].Call || !st[1].Fallback || st[1].Offset.Exact.Seconds() != 10 {
		t.Errorf("steps %+v", st)
	}
	if !h.Qualifies("가전", "냉장고") || h.Qualifies("의류", "셔츠") {
		t.Error("category filter")
	}
}
