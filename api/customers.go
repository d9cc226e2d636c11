package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nyaruka/phonenumbers"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *Server) customerRoutes() chi.Router {
	r := chi.NewRouter()
	// An id that could never have been stored is refused before any SQL,
	// the same way for reads as for writes.
	ir := r.With(externalIDParam)
	ir.Put("/{externalID}", s.putCustomer)
	ir.Get("/{externalID}", s.getCustomer)
	ir.Delete("/{externalID}", s.eraseCustomer)
	ir.Get("/{externalID}/journey", s.customerJourney)
	ir.Get("/{externalID}/consents", s.customerConsents)
	return r
}

func externalIDParam(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := validExternalID("externalId", chi.URLParam(r, "externalID")); err != nil {
			renderError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type consentInput struct {
	Granted *bool  `json:"granted"`
	Source  string `json:"source"`
}

// decodeConsent reads each channel on its own, so an error names the
// channel (encoding/json leaves map keys out of its field paths).
func decodeConsent(raw map[string]json.RawMessage) (map[string]consentInput, error) {
	out := map[string]consentInput{}
	for ch, v := range raw {
		var c consentInput
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			var p *Problem
			if errors.As(decodeProblem(err), &p) && p.Field != "" && p.Field != "body" {
				return nil, badField("consent."+ch+"."+p.Field, strings.TrimPrefix(p.Detail, p.Field+": "))
			}
			return nil, badField("consent."+ch, "must be an object with granted and source")
		}
		out[ch] = c
	}
	return out, nil
}

type customerInput struct {
	Name     string                     `json:"name"`
	Phone    *string                    `json:"phone"`
	Email    *string                    `json:"email"`
	Birthday *string                    `json:"birthday"`
	TimeZone string                     `json:"time_zone"`
	Locale   string                     `json:"locale"`
	Country  *string                    `json:"country"`
	Consent  map[string]json.RawMessage `json:"consent"`
}

var (
	externalIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	e164Pattern       = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
	// A BCP 47 tag as stores send them: language, then region or script.
	localePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$`)
	// ISO 3166-1 alpha-2, as the customers.country CHECK has it.
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

// maxEmail is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmail = 254

// minBirthday bounds birthdays from below; no living customer is older.
var minBirthday = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func validExternalID(field, id string) error {
	if !externalIDPattern.MatchString(id) {
		return badField(field, "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'")
	}
	return nil
}

// normalizePhone accepts only a number written in E.164 that could exist
// (the provider would refuse anything else months later, mid-program) and
// returns its canonical form: "+8201012345678", with the domestic trunk 0
// Koreans often keep, is stored as "+821012345678".
func normalizePhone(phone string) (string, bool) {
	if !e164Pattern.MatchString(phone) {
		return "", false
	}
	n, err := phonenumbers.Parse(phone, "")
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return "", false
	}
	canonical := phonenumbers.Format(n, phonenumbers.E164)
	// The canonical form must be a fixed point: for numbers made of
	// zeros after the country code, stripping the trunk 0 goes on
	// shrinking them at every round, and no such number exists.
	again, err := phonenumbers.Parse(canonical, "")
	if err != nil || !phonenumbers.IsPossibleNumber(again) || phonenumbers.Format(again, phonenumbers.E164) != canonical ||
		!e164Pattern.MatchString(canonical) {
		return "", false
	}
	return canonical, true
}

// toCustomer validates input and merges consent with what was stored:
// an unchanged grant keeps its original time and source.
func (in customerInput) toCustomer(externalID string, old *store.Customer, now time.Time) (store.Customer, error) {
	c := store.Customer{ExternalID: externalID, Name: in.Name, TimeZone: in.TimeZone, Locale: in.Locale, Consent: map[string]store.Consent{}}
	consent, err := decodeConsent(in.Consent)
	if err != nil {
		return c, err
	}
	if err := checkLength("name", in.Name, 200); err != nil {
		return c, err
	}
	if in.Phone != nil && *in.Phone != "" {
		phone, ok := normalizePhone(*in.Phone)
		if !ok {
			return c, badField("phone", "must be an E.164 number such as +821012345678")
		}
		c.Phone = &phone
	}
	if in.Email != nil && *in.Email != "" {
		a, err := mail.ParseAddress(*in.Email)
		if err != nil || a.Address != *in.Email || len(*in.Email) > maxEmail {
			return c, badField("email", "must be a plain address such as minsu@example.com")
		}
		c.Email = in.Email
	}
	if in.Birthday != nil && *in.Birthday != "" {
		b, err := time.Parse(time.DateOnly, *in.Birthday)
		if err != nil {
			return c, badField("birthday", "must be a date YYYY-MM-DD")
		}
		if b.Before(minBirthday) || b.After(now.AddDate(0, 0, 1)) {
			return c, badField("birthday", "must be between 1900-01-01 and today")
		}
		c.Birthday = &b
	}
	if c.TimeZone == "" {
		c.TimeZone = "Asia/Seoul"
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" || len(c.TimeZone) > 64 {
		return c, badField("time_zone", "must be an IANA zone such as Asia/Seoul")
	}
	if c.Locale == "" {
		c.Locale = "ko-KR"
	}
	if !localePattern.MatchString(c.Locale) {
		return c, badField("locale", "must be a language tag such as ko-KR")
	}
	if in.Country != nil && *in.Country != "" {
		if !countryPattern.MatchString(*in.Country) {
			return c, badField("country", "must be an ISO 3166-1 alpha-2 code in capitals such as KR")
		}
		c.Country = in.Country
	}
	if old != nil {
		for ch, v := range old.Consent {
			c.Consent[ch] = v
		}
	}
	for ch, v := range consent {
		if ch != domain.ChannelSMS && ch != domain.ChannelEmail && ch != domain.ChannelCall && ch != domain.ChannelNight {
			return c, badField("consent."+ch, "unknown channel; use sms, email, call or night (night-time advertising, 21:00-08:00)")
		}
		if v.Granted == nil {
			return c, badField("consent."+ch+".granted", "is required")
		}
		if v.Source == "" {
			return c, badField("consent."+ch+".source", "is required: where the customer gave or withdrew it (pos, web, call...)")
		}
		if err := checkLength("consent."+ch+".source", v.Source, 100); err != nil {
			return c, err
		}
		if prev, ok := c.Consent[ch]; ok && prev.Granted == *v.Granted {
			continue
		}
		c.Consent[ch] = store.Consent{Granted: *v.Granted, At: now, Source: v.Source}
	}
	return c, nil
}

func (s *Server) putCustomer(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "externalID")
	var in customerInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	now := time.Now().UTC()
	stored, before, err := s.Store.UpsertCustomerAs(r.Context(), id, apiKeyName(r.Context()), func(old *store.Customer) (store.Customer, error) {
		return in.toCustomer(id, old, now)
	})
	if err != nil {
		renderError(w, r, err)
		return
	}
	if before != nil && !before.OptedOut() && stored.OptedOut() {
		s.signalCustomer(r, stored.ID, workflows.SignalOptOut, nil)
	}
	if before != nil && !sameDay(before.Birthday, stored.Birthday) {
		change := workflows.BirthdayChanged{Removed: stored.Birthday == nil}
		if stored.Birthday != nil {
			change.Month, change.Day = stored.Birthday.Month(), stored.Birthday.Day()
		}
		s.signalCustomer(r, stored.ID, workflows.SignalBirthdayChanged, change)
	}
	status := http.StatusOK
	if before == nil {
		status = http.StatusCreated
	}
	writeJSON(w, status, stored)
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.CustomerByExternalID(r.Context(), chi.URLParam(r, "externalID"))
	if err != nil {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func sameDay(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Month() == b.Month() && a.Day() == b.Day()
}

// signalCustomer tells every live enrolment of the customer, in the
// background (see fanOut). A failure to hand it over is logged: each
// enrolment also re-reads consent before its next touch.
func (s *Server) signalCustomer(r *http.Request, customerID int64, signal string, arg any) {
	if _, err := s.fanOut(r.Context(), store.FanOutScope{CustomerID: customerID}, signal, arg); err != nil {
		s.logger().ErrorContext(r.Context(), "fan out to the customer's enrolments", "signal", signal, "error", err)
	}
}

// customerConsents answers the customer's consent history, newest first,
// a page at a time: limit (1-500, default 100) events older than cursor
// (the previous page's next).
func (s *Server) customerConsents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxConsentPage {
			renderError(w, r, badField("limit", "must be a number between 1 and 500"))
			return
		}
		limit = n
	}
	var before int64
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			renderError(w, r, badField("cursor", "must be the next value of the previous page"))
			return
		}
		before = n
	}
	c, err := s.Store.CustomerByExternalID(r.Context(), chi.URLParam(r, "externalID"))
	if err != nil {
		renderError(w, r, err)
		return
	}
	events, err := s.Store.ConsentEvents(r.Context(), c.ID, before, limit)
	if err != nil {
		renderError(w, r, err)
		return
	}
	if events == nil {
		events = []store.ConsentEvent{}
	}
	out := map[string]any{"consents": events, "next": nil}
	if len(events) == limit {
		out["next"] = strconv.FormatInt(events[len(events)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}
