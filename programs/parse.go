package programs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// happyCallWire mirrors HappyCall with offsets as plain strings, so a bad
// offset is reported with its JSON path rather than as a bare parse error.
type happyCallWire struct {
	Touches    *[]touchWire `json:"touches"`
	Categories []string     `json:"categories"`
	Products   []string     `json:"products"`
	CallWindow string       `json:"call_window"`
}

type touchWire struct {
	Key          string `json:"key"`
	Offset       string `json:"offset"`
	Call         bool   `json:"call"`
	CallScript   string `json:"call_script"`
	FallbackSMS  string `json:"fallback_sms"`
	SMS          string `json:"sms"`
	EmailSubject string `json:"email_subject"`
	Email        string `json:"email"`
}

// ParseHappyCall reads a happy call's params as a marketer sends them
// (missing params take the 3.1.3.1 defaults), validates them and returns
// them normalised. Errors are *FieldError.
func ParseHappyCall(raw json.RawMessage) (HappyCall, error) {
	var w happyCallWire
	if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return HappyCall{}, jsonFieldError("params", err)
		}
	}
	h := HappyCall{Categories: w.Categories, Products: w.Products}
	if w.CallWindow != "" {
		o, err := ParseOffset(w.CallWindow)
		if err != nil {
			return HappyCall{}, &FieldError{"params.call_window", err.Error()}
		}
		h.CallWindow = o
	}
	if w.Touches != nil {
		h.Touches = []Touch{}
		for i, t := range *w.Touches {
			o, err := ParseOffset(t.Offset)
			if err != nil {
				return HappyCall{}, &FieldError{fmt.Sprintf("params.touches[%d].offset", i), err.Error()}
			}
			h.Touches = append(h.Touches, Touch{Key: t.Key, Offset: o, Call: t.Call, CallScript: t.CallScript,
				FallbackSMS: t.FallbackSMS, SMS: t.SMS, EmailSubject: t.EmailSubject, Email: t.Email})
		}
	}
	if err := h.Normalize(); err != nil {
		return HappyCall{}, err
	}
	return h, nil
}

// jsonFieldError names the field encoding/json complained about.
func jsonFieldError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &FieldError{prefix + "." + te.Field, fmt.Sprintf("must be %s", te.Type)}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return &FieldError{prefix + "." + name, "unknown field"}
	}
	return &FieldError{prefix, strings.TrimPrefix(msg, "json: ")}
}
