package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
)

func (s *Server) settingsRoutes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", s.getSettings)
	r.Put("/", s.putSettings)
	return r
}

// apiKeyName is the name of the key the request authenticated with: the
// actor recorded for what it changes.
func apiKeyName(ctx context.Context) string {
	name, _ := ctx.Value(apiKeyNameKey).(string)
	return name
}

// getSettings answers the stored settings, or the defaults when none were
// stored. Stored settings that no longer read back are a 409 saying so
// (sends go on under the defaults meanwhile); a PUT repairs them.
func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.Store.Settings(r.Context())
	if errors.Is(err, store.ErrSettingsBroken) {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Conflict", Status: http.StatusConflict,
			Detail: err.Error() + "; until then the defaults apply"})
		return
	}
	if err != nil {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// settingsInput is the whole settings document: PUT replaces it, so
// every field must be there (a forgotten frequency_cap must not read as
// "no marketing at all", nor a forgotten quiet_hours as "none"). The
// report mail fields came later and may be left out: no recipients
// (no report mails) and quarterly, what settings stored before them mean.
type settingsInput struct {
	SenderName           *string                    `json:"sender_name"`
	SenderContact        *string                    `json:"sender_contact"`
	OptOutNumber         *string                    `json:"opt_out_number"`
	DefaultTimeZone      *string                    `json:"default_time_zone"`
	DefaultCountry       *string                    `json:"default_country"`
	QuietHours           map[string]json.RawMessage `json:"quiet_hours"`
	FrequencyCap         *capInput                  `json:"frequency_cap"`
	ReconfirmEveryDays   *int                       `json:"reconfirm_every_days"`
	ReleaseSpreadMinutes *int                       `json:"release_spread_minutes"`
	ReportRecipients     []string                   `json:"report_recipients"`
	ReportEvery          *string                    `json:"report_every"`
}

type capInput struct {
	Max        *int `json:"max"`
	WindowDays *int `json:"window_days"`
}

type quietInput struct {
	Start        *string  `json:"start"`
	End          *string  `json:"end"`
	Purposes     []string `json:"purposes"`
	NightConsent bool     `json:"night_consent"`
}

func required(field string) error { return badField(field, "is required") }

func (in settingsInput) toSettings() (compliance.Settings, error) {
	var st compliance.Settings
	for _, f := range []struct {
		name string
		v    *string
		to   *string
	}{
		{"sender_name", in.SenderName, &st.SenderName},
		{"sender_contact", in.SenderContact, &st.SenderContact},
		{"opt_out_number", in.OptOutNumber, &st.OptOutNumber},
		{"default_time_zone", in.DefaultTimeZone, &st.DefaultTimeZone},
		{"default_country", in.DefaultCountry, &st.DefaultCountry},
	} {
		if f.v == nil {
			return st, required(f.name)
		}
		*f.to = *f.v
	}
	if in.QuietHours == nil {
		return st, badField("quiet_hours", "is required: an object by country ({} for none)")
	}
	if len(in.QuietHours) > compliance.MaxQuietCountries {
		return st, badField("quiet_hours", "at most 50 countries")
	}
	keys := make([]string, 0, len(in.QuietHours))
	for k := range in.QuietHours {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	st.QuietHours = make(map[string]compliance.QuietHours, len(keys))
	for _, k := range keys {
		field := "quiet_hours"
		if k != "" && len(k) <= 8 && !strings.ContainsAny(k, ".[]") && textProblem(k, 8) == "" {
			field += "." + k
		}
		var q quietInput
		dec := json.NewDecoder(bytes.NewReader(in.QuietHours[k]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			var p *Problem
			if errors.As(decodeProblem(err), &p) && p.Field != "" && p.Field != "body" {
				return st, badField(field+"."+p.Field, strings.TrimPrefix(p.Detail, p.Field+": "))
			}
			return st, badField(field, "must be an object with start, end and purposes")
		}
		switch {
		case q.Start == nil:
			return st, required(field + ".start")
		case q.End == nil:
			return st, required(field + ".end")
		case q.Purposes == nil:
			return st, required(field + ".purposes")
		}
		st.QuietHours[k] = compliance.QuietHours{Start: *q.Start, End: *q.End, Purposes: q.Purposes, NightConsent: q.NightConsent}
	}
	switch {
	case in.FrequencyCap == nil:
		return st, required("frequency_cap")
	case in.FrequencyCap.Max == nil:
		return st, required("frequency_cap.max")
	case in.FrequencyCap.WindowDays == nil:
		return st, required("frequency_cap.window_days")
	case in.ReconfirmEveryDays == nil:
		return st, required("reconfirm_every_days")
	case in.ReleaseSpreadMinutes == nil:
		return st, required("release_spread_minutes")
	}
	st.FrequencyCap = compliance.FrequencyCap{Max: *in.FrequencyCap.Max, WindowDays: *in.FrequencyCap.WindowDays}
	st.ReconfirmEveryDays, st.ReleaseSpreadMinutes = *in.ReconfirmEveryDays, *in.ReleaseSpreadMinutes
	st.ReportRecipients = in.ReportRecipients
	if in.ReportEvery != nil {
		// Only an absent period means the default.
		if *in.ReportEvery == "" {
			return st, badField("report_every", "must be quarterly, monthly or weekly")
		}
		st.ReportEvery = *in.ReportEvery
	}
	return st, nil
}

// putSettings replaces the settings with the whole document given and
// answers them as stored.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) {
	var in settingsInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	st, err := in.toSettings()
	if err != nil {
		renderError(w, r, err)
		return
	}
	stored, err := s.Store.PutSettings(r.Context(), st, apiKeyName(r.Context()))
	if err != nil {
		renderError(w, r, err)
		return
	}
	// The report schedule follows at once; if Temporal cannot take it,
	// the settings are stored and dangol's next start-up (or the same
	// PUT again) brings the schedule in line.
	if s.Temporal != nil {
		if err := schedules.EnsureReportMails(r.Context(), s.Temporal, s.TaskQueue, stored); err != nil {
			renderError(w, r, &Problem{Type: "about:blank", Title: "Workflow engine unavailable", Status: http.StatusServiceUnavailable,
				Detail: "stored, but the report mail schedule could not be updated (" + err.Error() + "); repeat the same request, or it is updated at the next start-up"})
			return
		}
	}
	writeJSON(w, http.StatusOK, stored)
}

// refuseLooserOverrides refuses a program whose params.compliance would
// loosen the settings: a program may tighten them, never loosen them. Its
// shape is the program decoder's to check; what cannot be read here is
// left to it.
func (s *Server) refuseLooserOverrides(ctx context.Context, params json.RawMessage) error {
	var p struct {
		Compliance json.RawMessage `json:"compliance"`
	}
	if len(params) == 0 || json.Unmarshal(params, &p) != nil || len(p.Compliance) == 0 || string(p.Compliance) == "null" {
		return nil
	}
	var o compliance.Overrides
	if json.Unmarshal(p.Compliance, &o) != nil {
		return nil
	}
	// Broken stored settings come with the defaults, which are what
	// sends apply meanwhile.
	st, err := s.Store.Settings(ctx)
	if err != nil && !errors.Is(err, store.ErrSettingsBroken) {
		return err
	}
	_, err = compliance.Effective(st, o)
	return err
}
