package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Template fields of a touch.
const (
	FieldSMS         = "sms"
	FieldFallbackSMS = "fallback_sms"
	FieldEmail       = "email"
	FieldCallScript  = "call_script"
)

// TemplateRef names a template by where it lives, not by its text: the
// text is read at send time so an edit reaches running enrolments.
type TemplateRef struct {
	ProgramID int64
	Version   int
	Step      string
	// Field picks among a step's messages (see programs.Params.Template).
	Field string
	// Builtin names one of dangol's own texts (see notices.go) instead of
	// a program's template; Ref is the row it tells of (a consent change's
	// id). A built-in text is a legal notice: service, sent without
	// advertising consent.
	Builtin string `json:",omitempty"`
	Ref     int64  `json:",omitempty"`
}

type rendered struct {
	subject, body string
}

// extras are the per-send values templates may use besides the customer
// and purchase: the coupon and survey link of this step.
type extras struct {
	purchaseID int64
	couponID   int64
	surveyURL  string
}

// render reads the step's message from the program's current parameters,
// falling back to the enrolment's version when the current one no longer
// has that step, and fills it in (see renderLoaded), all it needs read in
// one round trip.
func (a *Activities) render(ctx context.Context, ref TemplateRef, channel string, customerID int64, x extras) (rendered, error) {
	if ref.Builtin != "" {
		return a.renderBuiltin(ctx, ref, channel, customerID)
	}
	d, err := a.Store.LoadForSend(ctx, store.SendLoad{CustomerID: customerID, ProgramID: ref.ProgramID, Version: ref.Version,
		PurchaseID: x.purchaseID, CouponID: x.couponID})
	if err != nil {
		return rendered{}, storeErr("load", err)
	}
	return renderLoaded(ref, channel, d, x)
}

// renderLoaded fills the step's message (see template) with the loaded
// customer, purchase and coupon. The body is bounded as the channel's (an
// SMS, a mail body or a call script), the subject as a mail subject; a
// message over its bound is a BadTemplate error, recorded as failed and
// never retried, since the same data would render it too long again.
func renderLoaded(ref TemplateRef, channel string, d store.SendData, x extras) (rendered, error) {
	msg, err := template(ref, d)
	if err != nil {
		return rendered{}, err
	}
	data, err := templateData(d, x)
	if err != nil {
		return rendered{}, err
	}
	subject, body, err := RenderMessage(msg, channel, data)
	if err != nil {
		return rendered{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	return rendered{subject: subject, body: body}, nil
}

// RenderMessage fills a step's message with the data, each part bounded
// as its channel's (see render). It is the pure part of the send path's
// rendering, which the program preview (api) shares so that what it shows
// is what would be sent.
func RenderMessage(msg programs.Message, channel string, data programs.TemplateData) (subject, body string, err error) {
	body, err = programs.Render(msg.Text, data, programs.BodyPart(channel))
	if err != nil {
		return "", "", err
	}
	subject, err = programs.Render(msg.Subject, data, programs.PartMailSubject)
	if err != nil {
		return "", "", fmt.Errorf("subject: %w", err)
	}
	return subject, body, nil
}

// template is the step's message in the program's current parameters,
// or else in those of the enrolment's version.
func template(ref TemplateRef, d store.SendData) (programs.Message, error) {
	p := d.Program
	if p == nil {
		return programs.Message{}, storeErr("program", store.ErrNotFound)
	}
	params, err := programs.Decode(p.Kind, p.Params)
	if err != nil {
		return programs.Message{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	if m, ok := params.Template(ref.Step, ref.Field); ok {
		return m, nil
	}
	if d.VersionParams == nil {
		return programs.Message{}, storeErr("program version", store.ErrNotFound)
	}
	if params, err = programs.Decode(p.Kind, d.VersionParams); err != nil {
		return programs.Message{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	if m, ok := params.Template(ref.Step, ref.Field); ok {
		return m, nil
	}
	return programs.Message{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("program %d has no message %s/%s", ref.ProgramID, ref.Step, ref.Field))
}

// templateData is TemplateData of the loaded rows the extras name.
func templateData(d store.SendData, x extras) (programs.TemplateData, error) {
	if d.Customer == nil {
		return programs.TemplateData{}, storeErr("customer", store.ErrNotFound)
	}
	if x.purchaseID != 0 && d.Purchase == nil {
		return programs.TemplateData{}, storeErr("purchase", store.ErrNotFound)
	}
	if x.couponID != 0 && d.Coupon == nil {
		return programs.TemplateData{}, storeErr("coupon", store.ErrNotFound)
	}
	return TemplateData(*d.Customer, d.Purchase, d.Coupon, x.surveyURL), nil
}

// TemplateData is what a template of the customer fills in, from the
// purchase and coupon of the step (nil when it has none). Dates are the
// customer's local ones. Pure: the send path and the program preview
// (api, with a sample purchase and coupon) both build it here.
func TemplateData(c store.Customer, p *store.Purchase, cp *store.Coupon, surveyURL string) programs.TemplateData {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	d := programs.TemplateData{Name: c.Name, SurveyURL: surveyURL}
	if p != nil {
		d.Store, d.Product, d.Category, d.PurchasedAt = p.Store, p.Product, p.Category, p.PurchasedAt.In(loc)
	}
	if cp != nil {
		d.Coupon, d.CouponValue, d.CouponExpires = cp.Code, cp.Display(), cp.ExpiresAt.In(loc).Format(time.DateOnly)
	}
	return d
}
