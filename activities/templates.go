package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dangol/dangol/programs"
)

// Template fields of a touch.
const (
	FieldSMS          = "sms"
	FieldFallbackSMS  = "fallback_sms"
	FieldEmail        = "email"
	FieldCallScript   = "call_script"
	fieldEmailSubject = "email_subject"
)

// TemplateRef names a template by where it lives, not by its text: the
// text is read at send time so an edit reaches running enrolments.
type TemplateRef struct {
	ProgramID int64
	Version   int
	Touch     string
	Field     string
}

type rendered struct {
	subject, body string
}

// render reads the touch from the program's current parameters, falling
// back to the enrolment's version when the current one no longer has that
// touch, and fills it with the customer's and purchase's data.
func (a *Activities) render(ctx context.Context, ref TemplateRef, customerID, purchaseID int64) (rendered, error) {
	touch, err := a.touch(ctx, ref)
	if err != nil {
		return rendered{}, err
	}
	data, err := a.templateData(ctx, customerID, purchaseID)
	if err != nil {
		return rendered{}, err
	}
	var text, subject string
	switch ref.Field {
	case FieldSMS:
		text = touch.SMS
	case FieldFallbackSMS:
		text = touch.FallbackSMS
	case FieldEmail:
		text, subject = touch.Email, touch.EmailSubject
	case FieldCallScript:
		text = touch.CallScript
	default:
		return rendered{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("unknown template field %q", ref.Field))
	}
	body, err := programs.Render(text, data)
	if err != nil {
		return rendered{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	if subject != "" {
		if subject, err = programs.Render(subject, data); err != nil {
			return rendered{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("%s: %w", fieldEmailSubject, err))
		}
	}
	return rendered{subject: subject, body: body}, nil
}

func (a *Activities) touch(ctx context.Context, ref TemplateRef) (programs.Touch, error) {
	p, err := a.Store.Program(ctx, ref.ProgramID)
	if err != nil {
		return programs.Touch{}, storeErr("program", err)
	}
	var hc programs.HappyCall
	if err := json.Unmarshal(p.Params, &hc); err != nil {
		return programs.Touch{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	if t, ok := hc.Touch(ref.Touch); ok {
		return t, nil
	}
	old, err := a.Store.ProgramVersionParams(ctx, ref.ProgramID, ref.Version)
	if err != nil {
		return programs.Touch{}, storeErr("program version", err)
	}
	if err := json.Unmarshal(old, &hc); err != nil {
		return programs.Touch{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	if t, ok := hc.Touch(ref.Touch); ok {
		return t, nil
	}
	return programs.Touch{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("program %d has no touch %q", ref.ProgramID, ref.Touch))
}

func (a *Activities) templateData(ctx context.Context, customerID, purchaseID int64) (programs.TemplateData, error) {
	c, err := a.Store.CustomerByID(ctx, customerID)
	if err != nil {
		return programs.TemplateData{}, storeErr("customer", err)
	}
	d := programs.TemplateData{Name: c.Name}
	if purchaseID != 0 {
		p, err := a.Store.PurchaseByID(ctx, purchaseID)
		if err != nil {
			return d, storeErr("purchase", err)
		}
		d.Store, d.Product, d.Category, d.PurchasedAt = p.Store, p.Product, p.Category, p.PurchasedAt
	}
	return d, nil
}
