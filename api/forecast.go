package api

import (
	"errors"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/forecast"
	"github.com/dangol/dangol/links"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// draftForecastRoutes is mounted at /v1/programs:forecast.
func (s *Server) draftForecastRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.forecastDraft)
	return r
}

// draftForecastInput is the body of POST /v1/programs:forecast: the body
// POST /v1/programs would take, under "program" (as the draft preview).
type draftForecastInput struct {
	Program *programInput `json:"program"`
}

// programForecast is the answer.
type programForecast struct {
	Kind string    `json:"kind"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// TimeZone is the zone the weeks are counted in (the settings'
	// default zone).
	TimeZone string         `json:"time_zone"`
	Basis    forecastBasis  `json:"basis"`
	Weeks    []forecastWeek `json:"weeks"`
	Totals   forecastTotals `json:"totals"`
	// Held says why advertising would be held whatever the customer.
	Held []string `json:"held"`
	// Assumptions says what the forecast takes for granted.
	Assumptions []string `json:"assumptions"`
}

// forecastBasis is what the forecast was computed from.
type forecastBasis struct {
	// Source is "audience" (segment programs) or "purchases" (event
	// programs: the last LookbackDays days, replayed).
	Source string `json:"source"`
	// Count is the audience's size or the lookback's purchases; Sampled
	// how many of them were laid out (each standing for Count/Sampled).
	Count        int64 `json:"count"`
	Sampled      int   `json:"sampled"`
	LookbackDays int   `json:"lookback_days,omitempty"`
	// Enrolments and Control are the enrolments expected over the year,
	// treated and held out.
	Enrolments float64 `json:"enrolments"`
	Control    float64 `json:"control"`
}

type forecastWeek struct {
	Week  string    `json:"week"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	SMS   float64   `json:"sms"`
	Email float64   `json:"email"`
	// FallbackSMSIfUnanswered are the happy call's fallback SMS, sent only
	// when staff do not reach the customer within the call window.
	FallbackSMSIfUnanswered float64            `json:"fallback_sms_if_unanswered"`
	CallTasks               map[string]float64 `json:"call_tasks"`
}

type forecastTotals struct {
	SMS                     float64            `json:"sms"`
	Email                   float64            `json:"email"`
	FallbackSMSIfUnanswered float64            `json:"fallback_sms_if_unanswered"`
	CallTasks               map[string]float64 `json:"call_tasks"`
}

// forecastAssumptions are the approximations every forecast makes.
var forecastAssumptions = []string{
	"weeks: the ISO week of now (from now on) and the 52 after it",
	"nobody converts, redeems a coupon, opts out or changes consent during the year; no program is paused",
	"the frequency cap counts this program's advertisements per customer only (other programs' sends are not known in advance)",
	"consent reconfirmation is assumed kept up (the consent-notices job renews it)",
	"call tasks are never completed in their window, so each call with a fallback SMS is counted in fallback_sms_if_unanswered; escalations of complaints are not counted",
}

// forecastDraft answers POST /v1/programs:forecast. It reads the settings
// and at most store.ForecastSampleSize customers or purchases (counted in
// SQL, sampled by a hash of their id), and writes nothing.
func (s *Server) forecastDraft(w http.ResponseWriter, r *http.Request) {
	var in draftForecastInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	params, err := s.draftParams(r, in.Program)
	if err != nil {
		renderError(w, r, err)
		return
	}
	ctx := r.Context()
	settings, err := s.Store.Settings(ctx)
	if err != nil && !errors.Is(err, store.ErrSettingsBroken) {
		renderError(w, r, err)
		return
	}
	eff, whenCapped, _ := activities.ProgramSettings(settings, params)
	zone, err := time.LoadLocation(eff.DefaultTimeZone)
	if err != nil {
		zone = time.UTC
	}
	now := time.Now()
	fin := forecast.Input{Params: params, Settings: eff, WhenCapped: whenCapped, From: now, Zone: zone,
		CanSignLinks: len(s.LinkSecret) >= links.MinSecretLen && s.PublicBaseURL != ""}
	out := programForecast{Kind: in.Program.Kind, TimeZone: zone.String(), Assumptions: forecastAssumptions}

	var f *forecast.Forecast
	if seg, ok := params.(programs.Segment); ok {
		count, sample, err := s.Store.ForecastAudience(ctx, seg.SweepSettings().Audience, now, store.ForecastSampleSize)
		if err != nil {
			renderError(w, r, err)
			return
		}
		places := forecast.NewPlaces(eff)
		cs := make([]forecast.Customer, len(sample))
		for i, c := range sample {
			cs[i] = places.Customer(c)
		}
		out.Basis = forecastBasis{Source: "audience", Count: count, Sampled: len(sample)}
		out.Assumptions = append(out.Assumptions, "segment programs: today's audience enrols at the first sweep and again after the cooldown (customers stay in the audience); customers who join the audience later are not counted")
		if f, err = forecast.Segment(fin, cs, scale(count, len(sample))); err != nil {
			renderError(w, r, err)
			return
		}
	} else {
		q := store.ForecastPurchaseQuery{Since: now.AddDate(0, 0, -forecast.LookbackDays), Until: now, Limit: store.ForecastSampleSize}
		switch p := params.(type) {
		case *programs.HappyCall:
			q.Categories, q.Products = p.Categories, p.Products
		case *programs.SecondPurchase:
			q.FirstOnly = true
		}
		count, sample, err := s.Store.ForecastPurchases(ctx, q)
		if err != nil {
			renderError(w, r, err)
			return
		}
		places := forecast.NewPlaces(eff)
		ps := make([]forecast.Purchase, len(sample))
		for i, p := range sample {
			ps[i] = forecast.Purchase{Customer: places.Customer(p.Customer), Store: p.Store, At: p.PurchasedAt}
		}
		out.Basis = forecastBasis{Source: "purchases", Count: count, Sampled: len(sample), LookbackDays: forecast.LookbackDays}
		out.Assumptions = append(out.Assumptions, "event programs: the purchases of the last 91 days (13 weeks) recur every 91 days, each enrolling its customer as it would have")
		if f, err = forecast.Events(fin, ps, scale(count, len(sample))); err != nil {
			renderError(w, r, err)
			return
		}
	}
	if p := params.Measurement().Holdout(); p > 0 {
		out.Assumptions = append(out.Assumptions, "holdout: the control group depends on the id the program will get, so each enrolment counts as its treated share")
	}
	out.From, out.To = f.From.In(zone), f.To.In(zone)
	out.Basis.Enrolments, out.Basis.Control = tenth(f.Enrolments), tenth(f.Control)
	out.Held = f.Held
	if out.Held == nil {
		out.Held = []string{}
	}
	sort.Strings(out.Held)
	out.Totals.CallTasks = map[string]float64{}
	for _, wk := range f.Weeks {
		v := forecastWeek{Week: wk.ISO, Start: wk.Start, End: wk.End, SMS: tenth(wk.SMS), Email: tenth(wk.Email),
			FallbackSMSIfUnanswered: tenth(wk.FallbackSMS), CallTasks: map[string]float64{}}
		for st, n := range wk.CallTasks {
			v.CallTasks[st] = tenth(n)
			out.Totals.CallTasks[st] += n
		}
		out.Totals.SMS += wk.SMS
		out.Totals.Email += wk.Email
		out.Totals.FallbackSMSIfUnanswered += wk.FallbackSMS
		out.Weeks = append(out.Weeks, v)
	}
	out.Totals.SMS, out.Totals.Email, out.Totals.FallbackSMSIfUnanswered = tenth(out.Totals.SMS), tenth(out.Totals.Email), tenth(out.Totals.FallbackSMSIfUnanswered)
	for st, n := range out.Totals.CallTasks {
		out.Totals.CallTasks[st] = tenth(n)
	}
	writeJSON(w, http.StatusOK, out)
}

// scale is how many of count each of n sampled stands for.
func scale(count int64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(count) / float64(n)
}

// tenth rounds an expected count to a tenth.
func tenth(v float64) float64 { return math.Round(v*10) / 10 }
