package programs

import (
	"fmt"
	"strings"
)

// Kinds of program.
const (
	KindHappyCall = "happy_call"
)

// HappyCall is the 3.1.3.1 after-sales follow-up: touches at fixed offsets
// after a qualifying purchase (seed 003, "After Marketing").
type HappyCall struct {
	// Touches run in order; the default is 3 days, 1 month, 3 months, 1 year.
	Touches []Touch `json:"touches"`
	// Categories and Products restrict which purchases qualify; empty
	// means every purchase.
	Categories []string `json:"categories,omitempty"`
	Products   []string `json:"products,omitempty"`
	// CallWindow is how long staff have to complete a call task before
	// the fallback SMS goes out.
	CallWindow Offset `json:"call_window"`
	Rules
	Measure
}

// Touch is one contact. Offset and channels are steps (fixed for an
// enrolment once it starts); templates may be edited while it runs.
type Touch struct {
	Key    string `json:"key"`
	Offset Offset `json:"offset"`
	// Call creates a call task for store staff.
	Call       bool   `json:"call"`
	CallScript string `json:"call_script,omitempty"`
	// FallbackSMS is sent when the call is not completed in the window or
	// ended with no answer; empty sends nothing.
	FallbackSMS string `json:"fallback_sms,omitempty"`
	// SMS is sent at the touch time when non-empty.
	SMS string `json:"sms,omitempty"`
	// EmailSubject and Email send a mail at the touch time when Email is
	// non-empty.
	EmailSubject string `json:"email_subject,omitempty"`
	Email        string `json:"email,omitempty"`
	// Purpose of every message of the touch; service by default (a
	// thank-you, a check-in).
	Purpose string `json:"purpose"`
}

// Step is the part of a touch a running enrolment is pinned to.
type Step struct {
	Key    string `json:"key"`
	Offset Offset `json:"offset"`
	Call   bool   `json:"call"`
	SMS    bool   `json:"sms"`
	Email  bool   `json:"email"`
	// Fallback tells whether an unanswered call sends the fallback SMS.
	Fallback bool `json:"fallback"`
	// Purpose of the touch's messages; empty in plans pinned before steps
	// had purposes (see ResolvePurpose).
	Purpose string `json:"purpose,omitempty"`
}

// Steps returns the pinned plan of the program.
func (h HappyCall) Steps() []Step {
	steps := make([]Step, len(h.Touches))
	for i, t := range h.Touches {
		steps[i] = Step{Key: t.Key, Offset: t.Offset, Call: t.Call, SMS: t.SMS != "", Email: t.Email != "", Fallback: t.FallbackSMS != "", Purpose: t.Purpose}
	}
	return steps
}

// Touch returns the touch with the key.
func (h HappyCall) Touch(key string) (Touch, bool) {
	for _, t := range h.Touches {
		if t.Key == key {
			return t, true
		}
	}
	return Touch{}, false
}

// Qualifies reports whether a purchase enters the program.
func (h HappyCall) Qualifies(category, product string) bool {
	return matches(h.Categories, category) && matches(h.Products, product)
}

func matches(allowed []string, v string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return true
		}
	}
	return false
}

const (
	defaultCallScript  = "구매하신 {{.Product}} 잘 쓰고 계신지 안부 인사드리고 불편한 점을 여쭤보세요."
	defaultFallbackSMS = "[{{.Store}}] {{.Name}} 고객님, {{.Product}} 잘 쓰고 계신가요? 불편하신 점이 있으면 언제든 연락 주세요."
	defaultYearSMS     = "[{{.Store}}] {{.Name}} 고객님, {{.Product}}와 함께한 지 1년이 되었습니다. 늘 찾아주셔서 감사합니다."
)

// DefaultHappyCall is the 3.1.3.1 plan: calls at 3 days, 1 month and 3
// months (with an SMS when staff cannot reach the customer) and a thank-you
// SMS after a year.
func DefaultHappyCall() HappyCall {
	call := func(key, off string) Touch {
		return Touch{Key: key, Offset: MustOffset(off), Call: true, CallScript: defaultCallScript, FallbackSMS: defaultFallbackSMS}
	}
	return HappyCall{
		Touches: []Touch{
			call("3d", "3d"),
			call("1mo", "1mo"),
			call("3mo", "3mo"),
			{Key: "1y", Offset: MustOffset("1y"), SMS: defaultYearSMS},
		},
		CallWindow: MustOffset("2d"),
	}
}

// FieldError names the parameter that is wrong, so the API can point at it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Normalize fills defaults and validates; field names in errors are JSON
// paths relative to the program's params.
func (h *HappyCall) Normalize() error {
	d := DefaultHappyCall()
	if h.Touches == nil {
		h.Touches = d.Touches
	}
	if h.CallWindow.IsZero() {
		h.CallWindow = d.CallWindow
	}
	if err := checkOffset("params.call_window", h.CallWindow); err != nil {
		return err
	}
	if err := checkList("params.categories", h.Categories); err != nil {
		return err
	}
	if err := checkList("params.products", h.Products); err != nil {
		return err
	}
	if err := h.Measure.normalize(false); err != nil {
		return err
	}
	if err := h.Rules.check(); err != nil {
		return err
	}
	if len(h.Touches) == 0 || len(h.Touches) > MaxSteps {
		return &FieldError{"params.touches", fmt.Sprintf("must have between 1 and %d touches", MaxSteps)}
	}
	seen := map[string]bool{}
	for i := range h.Touches {
		t := &h.Touches[i]
		f := fmt.Sprintf("params.touches[%d]", i)
		if t.Key == "" {
			t.Key = fmt.Sprintf("t%d", i+1)
		}
		if err := checkKey(f+".key", t.Key); err != nil {
			return err
		}
		if seen[t.Key] {
			return &FieldError{f + ".key", fmt.Sprintf("duplicate key %q", t.Key)}
		}
		seen[t.Key] = true
		if t.Offset.IsZero() {
			return &FieldError{f + ".offset", "is required, e.g. \"3d\", \"1mo\" or \"30s\""}
		}
		if err := checkOffset(f+".offset", t.Offset); err != nil {
			return err
		}
		if !t.Call && t.SMS == "" && t.Email == "" {
			return &FieldError{f, "needs at least one of call, sms or email"}
		}
		if t.Call && t.CallScript == "" {
			t.CallScript = defaultCallScript
		}
		if t.Email != "" && t.EmailSubject == "" {
			return &FieldError{f + ".email_subject", "is required when email is set"}
		}
		if err := checkPurpose(f+".purpose", &t.Purpose, DefaultPurpose(KindHappyCall, t.Key), false); err != nil {
			return err
		}
		for _, m := range []struct {
			name, text string
			part       Part
		}{
			{"sms", t.SMS, PartSMS},
			{"fallback_sms", t.FallbackSMS, PartSMS},
			{"email_subject", t.EmailSubject, PartMailSubject},
			{"email", t.Email, PartMailBody},
			{"call_script", t.CallScript, PartCallScript},
		} {
			if err := checkTemplate(f+"."+m.name, m.text, m.part); err != nil {
				return err
			}
		}
	}
	return nil
}
