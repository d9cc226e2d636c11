package forecast_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/forecast"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// acts names the activities the workflows call, for the mocks.
var acts *activities.Activities

const programID = 7

// settings are lawful Korean settings with the defaults' quiet hours
// (KR 21:00-08:00 for advertising, US 21:00-08:00 for everything), the
// defaults' cap (2 advertisements in 7 days) and release spread.
func settings() compliance.Settings {
	s := compliance.Defaults()
	s.SenderName, s.SenderContact, s.OptOutNumber = "단골상점", "02-555-0100", "080-555-0100"
	return s
}

// customers are 40 customers in Seoul, New York and Los Angeles with
// every mix of consent, addresses and birthdays (Feb 29 included); some
// allow nothing, and about 10% of them are held out at program 7's
// default holdout.
func customers() []store.Customer {
	zones := []string{"Asia/Seoul", "America/New_York", "Asia/Seoul", "America/Los_Angeles", "Asia/Seoul"}
	var out []store.Customer
	for i := range 40 {
		c := store.Customer{ID: int64(100 + i), TimeZone: zones[i%len(zones)], Consent: map[string]store.Consent{}}
		if c.TimeZone != "Asia/Seoul" {
			c.Country = ptr("US")
		}
		if i%5 != 4 {
			c.Phone = ptr(fmt.Sprintf("+8210%08d", i))
		}
		if i%3 != 2 {
			c.Email = ptr(fmt.Sprintf("c%d@example.com", i))
		}
		grant := func(ch string) {
			c.Consent[ch] = store.Consent{Granted: true, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
		}
		switch i % 6 {
		case 0:
			grant(domain.ChannelSMS)
			grant(domain.ChannelEmail)
			grant(domain.ChannelCall)
		case 1:
			grant(domain.ChannelSMS)
		case 2:
			grant(domain.ChannelEmail)
			grant(domain.ChannelCall)
		case 3:
			grant(domain.ChannelSMS)
			grant(domain.ChannelNight)
			grant(domain.ChannelCall)
		case 4: // nothing: opted out
		case 5:
			grant(domain.ChannelEmail)
			grant(domain.ChannelSMS)
		}
		if i%4 != 3 {
			b := time.Date(1990, time.Month(1+i%12), 1+(i*7)%28, 0, 0, 0, 0, time.UTC)
			if i == 8 {
				b = time.Date(1992, 2, 29, 0, 0, 0, 0, time.UTC)
			}
			c.Birthday = &b
		}
		out = append(out, c)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

var from = time.Date(2027, 1, 6, 15, 20, 0, 0, time.FixedZone("KST", 9*3600))

// The forecast of each kind agrees with a time-skipped run of the same
// program over the same customers: per ISO week, the messages per
// channel (and the fallback SMS of unanswered calls) and the call tasks
// per store. The run is the workflows themselves, one test environment
// per enrolment, with activities that apply the send path's rules the
// forecast must reproduce: consent by purpose and an address, quiet
// hours (held, then sent again), the frequency cap (held until a place
// frees), the call consent, the holdout. What the run takes from outside
// the workflows is when enrolments start: the sweep schedule's runs and
// the cooldown for segment programs, and the replayed purchases for event
// programs (forecast.NextSweep and the projection are the forecast's
// model of those).
func TestForecastAgreesWithRun(t *testing.T) {
	for _, c := range []struct {
		name, kind, params string
		// held: the run must see held messages (quiet hours, the cap).
		held bool
	}{
		{"welcome back at 22:00, re-entering", programs.KindWelcomeBack,
			`{"send_hour": 22, "cooldown": "60d", "coupon": {"kind": "amount", "value": "5000", "currency": "KRW", "valid_for": "20d"}}`, true},
		{"wake-up capped", programs.KindDormantWakeup,
			`{"cooldown": "40d", "audience": {"lifecycle": "", "consent": "sms"}, "steps": [
				{"key": "a", "offset": "0d", "channel": "sms", "message": {"text": "a"}},
				{"key": "b", "offset": "1d", "channel": "email", "message": {"subject": "b", "text": "b"}},
				{"key": "c", "offset": "2d", "channel": "sms", "coupon": true, "message": {"text": "{{.Coupon}}"}},
				{"key": "d", "offset": "3d", "channel": "sms", "message": {"text": "d"}, "purpose": "service"},
				{"key": "e", "offset": "1mo", "channel": "email", "message": {"subject": "e", "text": "e"}}]}`, true},
		{"wake-up default", programs.KindDormantWakeup, `{}`, false},
		{"birthday", programs.KindBirthday, `{"send_hour": 7, "card_before": "3d"}`, true},
		{"happy call", programs.KindHappyCall, `{"call_window": "2d", "holdout_percent": 20}`, false},
		{"happy call marketing", programs.KindHappyCall, `{"touches": [
			{"key": "t1", "offset": "1d", "call": true, "fallback_sms": "f", "sms": "s", "purpose": "marketing"},
			{"key": "t2", "offset": "2d", "sms": "s", "email": "e", "email_subject": "e", "purpose": "marketing"},
			{"key": "t3", "offset": "30d", "call": true, "fallback_sms": "f"}], "holdout_percent": 10}`, true},
		{"second purchase", programs.KindSecondPurchase, `{"coupon_after": "36h", "holdout_percent": 10}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			params, err := programs.Parse(c.kind, json.RawMessage(c.params))
			if err != nil {
				t.Fatal(err)
			}
			s := settings()
			eff, whenCapped, _ := activities.ProgramSettings(s, params)
			in := forecast.Input{ProgramID: programID, Params: params, Settings: eff, WhenCapped: whenCapped, CanSignLinks: true,
				From: from, Zone: time.FixedZone("KST", 9*3600)}
			cs := customers()
			if _, ok := params.(*programs.Birthday); ok {
				// The audience: customers with a birthday.
				cs = slices.DeleteFunc(cs, func(c store.Customer) bool { return c.Birthday == nil })
			}
			var fc []forecast.Customer
			for _, sc := range cs {
				fc = append(fc, forecast.FromStore(sc, eff))
			}
			var want *forecast.Forecast
			var forecastEvents []forecast.Event
			in.Trace = func(e forecast.Event) { forecastEvents = append(forecastEvents, e) }
			r := &run{t: t, settings: eff, params: params, customers: map[int64]store.Customer{}}
			for _, sc := range cs {
				r.customers[sc.ID] = sc
			}
			r.f = forecast.New(in)
			if _, ok := params.(programs.Segment); ok {
				want, err = forecast.Segment(in, fc, 1)
				r.segment(cs)
			} else {
				ps := purchases(fc)
				want, err = forecast.Events(in, ps, 1)
				r.events(ps)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := r.f
			// Every message and call task at the same moment, not only in
			// the same week.
			sortEvents(forecastEvents)
			sortEvents(r.trace)
			if len(forecastEvents) != len(r.trace) {
				t.Errorf("forecast %d events, run %d", len(forecastEvents), len(r.trace))
			}
			for i := range min(len(forecastEvents), len(r.trace)) {
				if f, g := forecastEvents[i], r.trace[i]; f.CustomerID != g.CustomerID || !f.At.Equal(g.At) || f.Channel != g.Channel || f.Store != g.Store || f.FallbackSMS != g.FallbackSMS {
					t.Errorf("event %d: forecast %+v, run %+v", i, f, g)
					break
				}
			}
			total := 0.0
			for i, w := range want.Weeks {
				g := got.Weeks[i]
				if g.SMS != w.SMS || g.Email != w.Email || g.FallbackSMS != w.FallbackSMS || fmt.Sprint(g.CallTasks) != fmt.Sprint(w.CallTasks) {
					t.Errorf("week %s: run sms %v email %v fallback %v calls %v; forecast sms %v email %v fallback %v calls %v",
						w.ISO, g.SMS, g.Email, g.FallbackSMS, g.CallTasks, w.SMS, w.Email, w.FallbackSMS, w.CallTasks)
				}
				total += w.SMS + w.Email + w.FallbackSMS
				for _, n := range w.CallTasks {
					total += n
				}
			}
			if total == 0 || r.enrolments == 0 {
				t.Fatalf("nothing forecast (%v) or run (%d enrolments)", total, r.enrolments)
			}
			if c.held && r.holds == 0 {
				t.Errorf("the run held nothing: the scenario does not exercise quiet hours or the cap")
			}
			if want.Control == 0 {
				t.Errorf("nobody held out")
			}
			t.Logf("%d enrolments, %d holds, %v sent or tasked, %v control", r.enrolments, r.holds, total, want.Control)
		})
	}
}

// purchases are the lookback's purchases: at several hours of several
// days, in two stores.
func purchases(cs []forecast.Customer) []forecast.Purchase {
	var out []forecast.Purchase
	for i, c := range cs {
		for j := range 1 + i%3 {
			at := from.Add(-time.Duration(2+(i*13+j*29)%88) * 24 * time.Hour).Add(time.Duration((i*5+j*7)%24) * time.Hour)
			out = append(out, forecast.Purchase{Customer: c, Store: []string{"강남점", "홍대점"}[(i+j)%2], At: at})
		}
	}
	return out
}

// run is the time-skipped run: the workflows' sends and call tasks,
// counted in the forecast's weeks.
type run struct {
	t          *testing.T
	settings   compliance.Settings
	params     programs.Params
	customers  map[int64]store.Customer
	f          *forecast.Forecast
	ledgers    map[int64][]time.Time
	enrolments int
	holds      int
	nextID     int64
	trace      []forecast.Event
}

func sortEvents(es []forecast.Event) {
	slices.SortStableFunc(es, func(a, b forecast.Event) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.CustomerID != b.CustomerID {
			return int(a.CustomerID - b.CustomerID)
		}
		return strings.Compare(a.Channel+a.Store, b.Channel+b.Store)
	})
}

func (r *run) week(at time.Time) int {
	for i, w := range r.f.Weeks {
		if !at.Before(w.Start) && at.Before(w.End) {
			return i
		}
	}
	return -1
}

// segment enrols every customer at the first sweep and again at the first
// sweep after the cooldown whenever an enrolment ended (a wake-up whose
// audience is active customers only does not: it marked them dormant);
// held-out customers are recorded ended, in control, and start nothing.
func (r *run) segment(cs []store.Customer) {
	sw := r.params.(programs.Segment).SweepSettings()
	sweepLoc, _ := time.LoadLocation(sw.TimeZone)
	for _, c := range cs {
		for start := forecast.NextSweep(sw, sweepLoc, from); start.Before(r.f.To); {
			end := start
			ended := true
			if !enrol.Control(enrol.Program{ID: programID, Params: r.params}, c.ID) {
				end, ended = r.enrolment(c, start, enrol.Member{}, "")
				if d, ok := r.params.(*programs.DormantWakeup); ok && d.Audience.Lifecycle == "active" {
					ended = false
				}
			}
			if !ended {
				break
			}
			start = forecast.NextSweep(sw, sweepLoc, sw.Cooldown.After(end, sweepLoc))
		}
	}
}

// events starts an enrolment for each purchase replayed every 91 days.
func (r *run) events(ps []forecast.Purchase) {
	type at struct {
		p  forecast.Purchase
		at time.Time
	}
	var all []at
	for _, p := range ps {
		for k := 1; ; k++ {
			t := p.At.AddDate(0, 0, 91*k)
			if !t.Before(r.f.To) {
				break
			}
			all = append(all, at{p, t})
		}
	}
	// In start order: the cap sees each customer's earlier enrolments.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].at.Before(all[j-1].at); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	for _, a := range all {
		c := r.customers[a.p.Customer.ID]
		if enrol.Control(enrol.Program{ID: programID, Params: r.params}, c.ID) {
			continue
		}
		r.enrolment(c, a.at, enrol.Member{PurchaseID: 9000, PurchasedAt: a.at}, a.p.Store)
	}
}

// enrolment runs one enrolment's workflow (and, for a birthday, its
// yearly continuations) from start until it ends or the forecast's end,
// and says when it ended.
func (r *run) enrolment(c store.Customer, start time.Time, m enrol.Member, storeName string) (time.Time, bool) {
	r.enrolments++
	r.nextID++
	m.EnrolmentID, m.WorkflowID, m.CustomerID, m.TimeZone = r.nextID, fmt.Sprint("wf/", r.nextID), c.ID, c.TimeZone
	if c.Birthday != nil {
		_, m.BirthMonth, m.BirthDay = c.Birthday.Date()
	}
	spec, err := enrol.For(enrol.Program{ID: programID, Kind: kindOf(r.params), Version: 1, Params: r.params}, m)
	if err != nil {
		r.t.Fatal(err)
	}
	var input any = spec.Input
	for {
		end, next, ok := r.execute(c, start, spec.Workflow, input, storeName)
		if next == nil {
			return end, ok
		}
		if !end.Before(r.f.To) {
			return end, false
		}
		start, input = end, next
	}
}

func kindOf(p programs.Params) string {
	switch p.(type) {
	case *programs.HappyCall:
		return programs.KindHappyCall
	case *programs.WelcomeBack:
		return programs.KindWelcomeBack
	case *programs.DormantWakeup:
		return programs.KindDormantWakeup
	case *programs.Birthday:
		return programs.KindBirthday
	}
	return programs.KindSecondPurchase
}

type testSuite struct{ testsuite.WorkflowTestSuite }

// execute runs one workflow run on the time-skipping test server; next is
// the input of its continuation (a birthday's next year).
func (r *run) execute(c store.Customer, start time.Time, name string, input any, storeName string) (end time.Time, next any, ended bool) {
	var ts testSuite
	ts.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.HappyCall, workflow.RegisterOptions{Name: enrol.WorkflowHappyCall})
	env.RegisterWorkflowWithOptions(workflows.WelcomeBack, workflow.RegisterOptions{Name: enrol.WorkflowWelcomeBack})
	env.RegisterWorkflowWithOptions(workflows.DormantWakeup, workflow.RegisterOptions{Name: enrol.WorkflowDormantWakeup})
	env.RegisterWorkflowWithOptions(workflows.Birthday, workflow.RegisterOptions{Name: enrol.WorkflowBirthday})
	env.RegisterWorkflowWithOptions(workflows.SecondPurchase, workflow.RegisterOptions{Name: enrol.WorkflowSecondPurchase})
	env.RegisterActivity(&activities.Activities{})
	env.SetStartTime(start)
	country, loc := activities.CustomerPlace(c, r.settings)
	if r.ledgers == nil {
		r.ledgers = map[int64][]time.Time{}
	}
	tasked := map[string]bool{} // steps whose call task was created
	var endedAt time.Time

	env.OnActivity(acts.MarkEnrolmentActive, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.CheckGate, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		activities.Gate{ProgramStatus: store.ProgramActive, OptedOut: c.OptedOut()}, nil)
	env.OnActivity(acts.IssueCoupon, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.IssueCouponRequest) (activities.IssuedCoupon, error) {
			return activities.IssuedCoupon{ID: 1, ExpiresAt: activities.CouponExpiresAt(req.Coupon.ValidFor, env.Now(), loc)}, nil
		})
	env.OnActivity(acts.CouponRedeemed, mock.Anything, mock.Anything).Return(false, nil)
	env.OnActivity(acts.MarkDormant, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.CancelOpenTasks, mock.Anything, mock.Anything).Return(int64(0), nil)
	env.OnActivity(acts.EndEnrolment, mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, int64, string) error { endedAt = env.Now(); return nil })
	env.OnActivity(acts.FinishEnrolment, mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, int64, string) error { endedAt = env.Now(); return nil })
	env.OnActivity(acts.CreateCallTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.CallTaskRequest) (int64, error) {
			if !c.Consents(domain.ChannelCall) || c.Phone == nil {
				return 0, nil
			}
			tasked[req.TouchKey] = true
			if i := r.week(env.Now()); i >= 0 {
				r.f.Weeks[i].CallTasks[storeName]++
				r.trace = append(r.trace, forecast.Event{CustomerID: c.ID, At: env.Now(), Channel: domain.ChannelCall, Store: storeName})
			}
			return 1, nil
		})
	env.OnActivity(acts.CloseCallTask, mock.Anything, mock.Anything).Return(activities.CallTaskState{Status: domain.TaskExpired}, nil)
	env.OnActivity(acts.SendMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.SendRequest) (activities.SendResult, error) {
			now := env.Now()
			marketing := req.Purpose == compliance.PurposeMarketing
			address := c.Phone
			if req.Channel == domain.ChannelEmail {
				address = c.Email
			}
			if (marketing && !c.Consents(req.Channel)) || address == nil {
				return activities.SendResult{Status: domain.MessageSuppressed}, nil
			}
			hold := func(at time.Time) (activities.SendResult, error) {
				if req.LastTry {
					return activities.SendResult{Status: domain.MessageSuppressed}, nil
				}
				r.holds++
				return activities.SendResult{Status: domain.MessageHeld, NotBefore: at}, nil
			}
			if at, held := compliance.Release(now, loc, country, req.Purpose, c.NightConsent(), r.settings, c.ID); held {
				return hold(at)
			}
			if marketing {
				capped := r.settings.FrequencyCap
				var inWindow []time.Time
				for _, at := range r.ledgers[c.ID] {
					if at.After(now.Add(-capped.Window())) && !at.After(now) {
						inWindow = append(inWindow, at)
					}
				}
				slices.SortFunc(inWindow, time.Time.Compare)
				if len(inWindow) >= capped.Max {
					return hold(inWindow[len(inWindow)-capped.Max].Add(capped.Window()).Add(compliance.Spread(c.ID, r.settings.ReleaseSpreadMinutes)))
				}
				r.ledgers[c.ID] = append(r.ledgers[c.ID], now)
			}
			if i := r.week(now); i >= 0 {
				w := &r.f.Weeks[i]
				fallback := req.Template.Field == activities.FieldFallbackSMS && tasked[req.Template.Step]
				r.trace = append(r.trace, forecast.Event{CustomerID: c.ID, At: now, Channel: req.Channel, FallbackSMS: fallback})
				switch {
				case fallback:
					w.FallbackSMS++
				case req.Channel == domain.ChannelSMS:
					w.SMS++
				default:
					w.Email++
				}
			}
			return activities.SendResult{MessageID: 1, Status: domain.MessageQueued}, nil
		})
	env.ExecuteWorkflow(name, input)
	if !env.IsWorkflowCompleted() {
		r.t.Fatalf("%s did not complete", name)
	}
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	switch {
	case err == nil:
		return endedAt, nil, true
	case errors.As(err, &can):
		var in enrol.BirthdayInput
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
			r.t.Fatal(err)
		}
		return env.Now(), in, false
	}
	r.t.Fatalf("%s: %v", name, err)
	return time.Time{}, nil, false
}
