package programs

import (
	"bytes"
	"encoding/json"
)

// templateKeys are the JSON fields that hold message text. Everything
// else in a program's params is a step: when, which channel, which coupon.
var templateKeys = map[string]bool{
	"sms": true, "fallback_sms": true, "email": true, "email_subject": true, "call_script": true,
	"text": true, "subject": true, "name": true,
}

// SameSteps reports whether two params differ only in message texts. Then
// an edit reaches running enrolments at their next send; otherwise it is a
// new version and running enrolments keep the one they entered with.
func SameSteps(a, b Params) bool {
	// A happy call's channels follow from which texts are set.
	if ha, ok := a.(*HappyCall); ok {
		if hb, ok := b.(*HappyCall); ok {
			ja, _ := json.Marshal(ha.Steps())
			jb, _ := json.Marshal(hb.Steps())
			if !bytes.Equal(ja, jb) {
				return false
			}
		}
	}
	sa, errA := stripTemplates(a)
	sb, errB := stripTemplates(b)
	return errA == nil && errB == nil && bytes.Equal(sa, sb)
}

func stripTemplates(p Params) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(strip(v))
}

func strip(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if !templateKeys[k] {
				out[k] = strip(x)
			}
		}
		return out
	case []any:
		for i := range t {
			t[i] = strip(t[i])
		}
	}
	return v
}
