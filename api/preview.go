package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/links"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// draftPreviewRoutes is mounted at /v1/programs:preview.
func (s *Server) draftPreviewRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.previewDraft)
	return r
}

// programPreviewInput is the optional body of POST
// /v1/programs/{id}/preview.
type programPreviewInput struct {
	CustomerID *string `json:"customer_id"`
	At         *string `json:"at"`
}

// draftPreviewInput is the body of POST /v1/programs:preview: the body
// POST /v1/programs would take, under "program".
type draftPreviewInput struct {
	Program    *programInput `json:"program"`
	CustomerID *string       `json:"customer_id"`
	At         *string       `json:"at"`
}

// The span "at" may lie in: a preview is of an enrolment starting about
// now; offsets add at most programs.MaxSpan more.
const (
	maxPreviewPast   = 366 * 24 * time.Hour
	maxPreviewFuture = 10 * 366 * 24 * time.Hour
)

// The sample customer a preview uses when the request names none: a
// Korean customer with SMS and mail consent, so the Korean advertising
// format and quiet hours show.
var sampleCustomer = store.Customer{
	ExternalID: "sample", Name: "김단골", Phone: ptr("+821012345678"), Email: ptr("sample@example.com"),
	TimeZone: "Asia/Seoul", Locale: "ko-KR", Country: ptr("KR"),
}

// Sample values for what a real send takes from the database: the coupon
// issued at the step and the purchase that enrolled the customer.
const (
	sampleCouponCode = "SAMPLE-CODE"
	sampleStore      = "샘플매장"
	sampleProduct    = "샘플 상품"
	sampleCategory   = "sample"
	sampleToken      = "SAMPLE-TOKEN"
)

func ptr(s string) *string { return &s }

// programPreview is the answer: every message of every step as it would
// go to the customer, and when.
type programPreview struct {
	ProgramID *int64          `json:"program_id,omitempty"`
	Kind      string          `json:"kind"`
	Customer  previewCustomer `json:"customer"`
	At        time.Time       `json:"at"`
	// Sample lists what is made up for the preview (the customer, the
	// purchase, the coupon, links).
	Sample []string      `json:"sample"`
	Steps  []previewStep `json:"steps"`
}

type previewCustomer struct {
	Sample     bool   `json:"sample"`
	ExternalID string `json:"external_id"`
	Name       string `json:"name"`
	Country    string `json:"country"`
	TimeZone   string `json:"time_zone"`
}

// previewStep is one message of a step (or a step's call task).
type previewStep struct {
	Step  string `json:"step"`
	Field string `json:"field"`
	// Channel is sms, email or call (a call task's script for staff).
	Channel  string `json:"channel"`
	CallTask bool   `json:"call_task,omitempty"`
	Purpose  string `json:"purpose"`
	Subject  string `json:"subject,omitempty"`
	Body     string `json:"body"`
	Segments int    `json:"segments,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Units    int    `json:"units,omitempty"`
	// DueAt is the step's moment within the program's hours; SendsAt is
	// when it would leave after quiet hours, HeldReason why it waits.
	DueAt      time.Time  `json:"due_at"`
	SendsAt    *time.Time `json:"sends_at,omitempty"`
	HeldReason string     `json:"held_reason,omitempty"`
	// Problem says why the message could not be rendered or would not go
	// (the settings lack what an advertisement must carry).
	Problem string `json:"problem,omitempty"`
}

// previewProgram answers POST /v1/programs/{id}/preview.
func (s *Server) previewProgram(w http.ResponseWriter, r *http.Request) {
	p, params, broken, ok := s.program(w, r)
	if !ok {
		return
	}
	// The body is optional: none (only blanks, or null) previews for the
	// sample customer from now.
	var in programPreviewInput
	body, err := io.ReadAll(r.Body)
	if err != nil {
		renderError(w, r, decodeProblem(err))
		return
	}
	if b := bytes.TrimSpace(body); len(b) > 0 && string(b) != "null" {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := decode(r, &in); err != nil {
			renderError(w, r, err)
			return
		}
	}
	if broken != nil {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Conflict", Status: http.StatusConflict, Field: "params",
			Detail: "params: " + broken.Error() + "; repair the program with PATCH first"})
		return
	}
	out, err := s.preview(r, p.Kind, params, in.CustomerID, in.At)
	if err != nil {
		renderError(w, r, err)
		return
	}
	out.ProgramID = &p.ID
	writeJSON(w, http.StatusOK, out)
}

// previewDraft answers POST /v1/programs:preview: a program before it is
// created, checked as POST /v1/programs would check it (errors name the
// field under "program.").
func (s *Server) previewDraft(w http.ResponseWriter, r *http.Request) {
	var in draftPreviewInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	params, err := s.draftParams(r, in.Program)
	if err != nil {
		renderError(w, r, err)
		return
	}
	out, err := s.preview(r, in.Program.Kind, params, in.CustomerID, in.At)
	if err != nil {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// draftParams checks a draft under "program" as POST /v1/programs checks
// a program (the preview and the forecast take drafts).
func (s *Server) draftParams(r *http.Request, in *programInput) (programs.Params, error) {
	if in == nil {
		return nil, required("program")
	}
	if _, err := validName(in.Name); err != nil {
		return nil, underProgram(err)
	}
	if err := s.refuseLooserOverrides(r.Context(), in.Params); err != nil {
		return nil, underProgram(err)
	}
	params, err := programs.Parse(in.Kind, in.Params)
	if err != nil {
		return nil, underProgram(err)
	}
	return params, nil
}

// underProgram names a field of the draft by its path in the preview's
// body ("params.touches[0].offset" is "program.params.touches[0].offset").
func underProgram(err error) error {
	var p *Problem
	var fe *programs.FieldError
	var ce *compliance.FieldError
	switch {
	case errors.As(err, &p) && p.Field != "":
		q := *p
		q.Field = "program." + p.Field
		q.Detail = "program." + p.Detail
		return &q
	case errors.As(err, &fe):
		return badField("program."+fe.Field, fe.Message)
	case errors.As(err, &ce):
		return badField("program."+ce.Field, ce.Detail)
	}
	return err
}

// preview renders every message of the program's steps for the customer
// (or the sample one) and times them from at (default now). It reads the
// settings and the customer and writes nothing; its work is bounded by the
// program's steps (programs.MaxSteps).
func (s *Server) preview(r *http.Request, kind string, params programs.Params, customerID, atText *string) (programPreview, error) {
	ctx := r.Context()
	now := time.Now()
	at := now
	if atText != nil {
		t, err := time.Parse(time.RFC3339, *atText)
		if err != nil {
			return programPreview{}, badField("at", "must be an RFC 3339 moment such as 2027-01-31T22:30:00+09:00")
		}
		if t.Before(now.Add(-maxPreviewPast)) || t.After(now.Add(maxPreviewFuture)) {
			return programPreview{}, badField("at", "must lie within a year before and ten years after now")
		}
		at = t
	}
	settings, err := s.Store.Settings(ctx)
	if err != nil && !errors.Is(err, store.ErrSettingsBroken) {
		return programPreview{}, err
	}
	// As the send path: the program's overrides tighten the settings; a
	// looser override (settings tightened since) leaves the settings.
	eff, _, _ := activities.ProgramSettings(settings, params)

	c := sampleCustomer
	sample := customerID == nil
	if sample {
		c.Consent = map[string]store.Consent{
			domain.ChannelSMS:   {Granted: true, At: at, Source: "sample"},
			domain.ChannelEmail: {Granted: true, At: at, Source: "sample"},
		}
	} else {
		if err := validExternalID("customer_id", *customerID); err != nil {
			return programPreview{}, err
		}
		c, err = s.Store.CustomerByExternalID(ctx, *customerID)
		if errors.Is(err, store.ErrNotFound) {
			return programPreview{}, notFound("customer")
		} else if err != nil {
			return programPreview{}, err
		}
	}
	country, loc := activities.CustomerPlace(c, eff)
	out := programPreview{Kind: kind, At: at.In(loc),
		Customer: previewCustomer{Sample: sample, ExternalID: c.ExternalID, Name: c.Name, Country: country, TimeZone: loc.String()},
		Sample:   []string{"purchase", "coupon", "survey link"}}
	if sample {
		out.Sample = append([]string{"customer"}, out.Sample...)
	}
	pv := previewer{s: s, c: c, sample: sample, country: country, loc: loc, settings: eff, at: at, params: params}
	pv.purchase = store.Purchase{Store: sampleStore, Product: sampleProduct, Category: sampleCategory, PurchasedAt: at}
	pv.steps(kind)
	out.Steps = pv.out
	if out.Steps == nil {
		out.Steps = []previewStep{}
	}
	return out, nil
}

// previewer builds one preview.
type previewer struct {
	s        *Server
	c        store.Customer
	sample   bool
	country  string
	loc      *time.Location
	settings compliance.Settings
	at       time.Time
	params   programs.Params
	purchase store.Purchase
	out      []previewStep
}

// message is one message of a step to preview.
type message struct {
	step, field, channel string
	due                  time.Time
	coupon               *programs.Coupon
	// couponIssued is when the step's coupon was issued (its expiry
	// counts from it); zero: at due.
	couponIssued time.Time
	survey       bool
	purchase     bool
	call         bool
	// skipped says why the workflow would not send it.
	skipped string
}

// steps lists the kind's messages with the moments its workflow gives
// them (workflows/*.go), in the program's hours (enrol.Timing.InHours).
func (pv *previewer) steps(kind string) {
	at, loc := pv.at, pv.loc
	switch p := pv.params.(type) {
	case *programs.HappyCall:
		tm := enrol.HappyCallTiming(p.Steps(), p.CallWindow)
		for _, t := range p.Touches {
			due := tm.InHours(t.Offset.After(at, loc), loc, pv.c.ID)
			if t.SMS != "" {
				pv.add(message{step: t.Key, field: activities.FieldSMS, channel: domain.ChannelSMS, due: due, purchase: true})
			}
			if t.Email != "" {
				pv.add(message{step: t.Key, field: activities.FieldEmail, channel: domain.ChannelEmail, due: due, purchase: true})
			}
			if t.Call {
				pv.add(message{step: t.Key, field: activities.FieldCallScript, channel: domain.ChannelCall, due: due, purchase: true, call: true})
				if t.FallbackSMS != "" {
					// Sent when the call window closes without an answer.
					pv.add(message{step: t.Key, field: "fallback_sms", channel: domain.ChannelSMS,
						due: tm.InHours(p.CallWindow.After(due, loc), loc, pv.c.ID), purchase: true})
				}
			}
		}
	case *programs.WelcomeBack:
		plan := enrol.PlanWelcomeBack(*p)
		tm := plan.Timing
		greeted := tm.InHours(at, loc, pv.c.ID)
		pv.add(message{step: programs.StepGreeting, channel: p.Channel, due: greeted, coupon: &p.Coupon})
		expires := activities.CouponExpiresAt(p.Coupon.ValidFor, greeted, loc)
		// The workflow's own moment (enrol.WelcomeBackPlan.ReminderAt).
		remind := plan.ReminderAt(expires, loc)
		m := message{step: programs.StepReminder, channel: p.Channel, due: tm.InHours(remind, loc, pv.c.ID), coupon: &p.Coupon, couponIssued: greeted}
		if !remind.After(greeted) {
			m.skipped = "not sent: the reminder's moment is before the greeting (reminder_before is longer than the coupon's validity)"
		}
		pv.add(m)
	case *programs.DormantWakeup:
		tm := enrol.PlanDormantWakeup(*p).Timing
		for _, st := range p.Steps {
			m := message{step: st.Key, channel: st.Channel, due: tm.InHours(st.Offset.After(at, loc), loc, pv.c.ID), survey: st.Survey}
			if st.Coupon {
				m.coupon = &p.Coupon
			}
			pv.add(m)
		}
	case *programs.Birthday:
		plan := enrol.PlanBirthday(*p)
		tm := plan.Timing
		bday, ok := pv.birthday(plan)
		if !ok {
			const none = "not sent: the customer has no birthday"
			pv.add(message{step: programs.StepCard, channel: domain.ChannelEmail, due: at, skipped: none})
			pv.add(message{step: programs.StepGreeting, channel: domain.ChannelSMS, due: at, coupon: &p.Coupon, skipped: none})
			return
		}
		card := message{step: programs.StepCard, channel: domain.ChannelEmail, due: tm.InHours(p.CardBefore.Before(bday, loc), loc, pv.c.ID)}
		if p.CardBefore.Before(bday, loc).Before(at) {
			card.skipped = "not sent this year: the card's moment had passed when the enrolment started"
		}
		pv.add(card)
		pv.add(message{step: programs.StepGreeting, channel: domain.ChannelSMS, due: tm.InHours(bday, loc, pv.c.ID), coupon: &p.Coupon})
	case *programs.SecondPurchase:
		tm := enrol.PlanSecondPurchase(*p).Timing
		pv.add(message{step: programs.StepThankYou, channel: p.Channel, due: tm.InHours(at, loc, pv.c.ID), purchase: true})
		pv.add(message{step: programs.StepCoupon, channel: p.Channel, due: tm.InHours(p.CouponAfter.After(at, loc), loc, pv.c.ID), coupon: &p.Coupon, purchase: true})
	}
}

// birthday is the customer's next birthday at the send hour from at
// (enrol.BirthdayPlan.BirthdayAt, which the workflow uses); the sample
// customer's is 30 days after at.
func (pv *previewer) birthday(plan enrol.BirthdayPlan) (time.Time, bool) {
	var month time.Month
	var day int
	switch {
	case pv.sample:
		_, month, day = pv.at.In(pv.loc).AddDate(0, 0, 30).Date()
	case pv.c.Birthday != nil:
		_, month, day = pv.c.Birthday.Date()
	default:
		return time.Time{}, false
	}
	year := pv.at.In(pv.loc).Year()
	for range 2 {
		if b := plan.BirthdayAt(year, month, day, pv.loc); !b.Before(pv.at) {
			return b, true
		}
		year++
	}
	return plan.BirthdayAt(year, month, day, pv.loc), true
}

// add renders one message through the send path's own functions: the
// template data and rendering (activities.TemplateData, RenderMessage),
// the advertising additions (compliance.Decorate), the segments and the
// quiet hours (compliance.Release).
func (pv *previewer) add(m message) {
	purpose := pv.params.Purpose(m.step)
	v := previewStep{Step: m.step, Field: m.field, Channel: m.channel, CallTask: m.call, Purpose: purpose, DueAt: m.due.In(pv.loc), Problem: m.skipped}
	if v.Field == "" {
		v.Field = "message"
	}
	msg, ok := pv.params.Template(m.step, m.field)
	if !ok {
		v.Problem = "the program has no such message"
		pv.out = append(pv.out, v)
		return
	}
	var purchase *store.Purchase
	if m.purchase {
		purchase = &pv.purchase
	}
	var coupon *store.Coupon
	if m.coupon != nil {
		issued := m.couponIssued
		if issued.IsZero() {
			issued = m.due
		}
		coupon = &store.Coupon{Code: sampleCouponCode, Kind: m.coupon.Kind, Value: m.coupon.Value, Currency: m.coupon.Currency,
			ExpiresAt: activities.CouponExpiresAt(m.coupon.ValidFor, issued, pv.loc)}
	}
	survey := ""
	if m.survey {
		survey = pv.s.link("/s/" + sampleToken)
	}
	data := activities.TemplateData(pv.c, purchase, coupon, survey)
	subject, body, err := activities.RenderMessage(msg, m.channel, data)
	if err != nil {
		v.Body, v.Problem = msg.Text, "cannot be rendered: "+err.Error()
		pv.out = append(pv.out, v)
		return
	}
	v.Subject, v.Body = subject, body
	if m.call {
		// A call task is shown to staff at its moment; quiet hours are
		// for messages.
		sends := v.DueAt
		v.SendsAt = &sends
		pv.out = append(pv.out, v)
		return
	}
	d := compliance.Decoration{Country: pv.country, Purpose: purpose, Channel: m.channel, Settings: pv.settings}
	if purpose == compliance.PurposeMarketing && m.channel == domain.ChannelEmail {
		d.UnsubscribeURL = pv.s.unsubscribeURL(pv.c, pv.sample, m.channel)
	}
	if subj, b, err := compliance.Decorate(d, subject, body); err != nil {
		if v.Problem == "" {
			v.Problem = err.Error()
		}
	} else {
		v.Subject, v.Body = subj, b
	}
	if m.channel == domain.ChannelSMS {
		v.Encoding, v.Segments, v.Units = compliance.Segments(v.Body)
	}
	if v.Problem == "" {
		sends, held := compliance.Release(m.due, pv.loc, pv.country, purpose, pv.c.NightConsent(), pv.settings, pv.c.ID)
		sends = sends.In(pv.loc)
		v.SendsAt = &sends
		if held {
			v.HeldReason = compliance.ReasonQuietHours
		}
	}
	pv.out = append(pv.out, v)
}

// link is a URL under the public base URL.
func (s *Server) link(path string) string {
	return strings.TrimRight(s.PublicBaseURL, "/") + path
}

// unsubscribeURL is the link the customer's advertising mail would carry
// (a sample token for the sample customer); "" when the server cannot sign
// links, which Decorate reports as the settings being incomplete, as the
// send path would.
func (s *Server) unsubscribeURL(c store.Customer, sample bool, channel string) string {
	if len(s.LinkSecret) < links.MinSecretLen || s.PublicBaseURL == "" {
		return ""
	}
	if sample {
		return s.link("/u/" + sampleToken)
	}
	a := activities.Activities{LinkSecret: s.LinkSecret, PublicBaseURL: s.PublicBaseURL}
	u, err := a.UnsubscribeURL(c.ID, channel)
	if err != nil {
		return ""
	}
	return u
}
