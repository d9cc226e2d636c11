package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/store"
)

// consentRoutes is mounted at /v1/consents:due.
func (s *Server) consentRoutes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", s.consentsDue)
	return r
}

// defaultConsentsDueLimit is a page's size when the request names none.
const defaultConsentsDueLimit = 100

type consentsDueOutput struct {
	// PeriodDays is the reconfirmation period the list was computed with.
	PeriodDays int `json:"period_days"`
	// Counts are every due customer's, by status, not only this page's.
	Counts     map[string]int64   `json:"counts"`
	Consents   []store.ConsentDue `json:"consents"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// consentsDue lists the customers whose reconfirmation notice (every
// settings.reconfirm_every_days from their consent to advertising) has
// fallen due in its current cycle, with the notice's status: due (not
// sent yet), sending, notified, or undelivered (failed, suppressed,
// undelivered: the operator must reach them another way). Paged by
// customer with ?limit (1-500) and ?cursor; ?status filters.
func (s *Server) consentsDue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultConsentsDueLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxConsentsDueLimit {
			renderError(w, r, badField("limit", "must be a whole number from 1 to "+strconv.Itoa(store.MaxConsentsDueLimit)))
			return
		}
		limit = n
	}
	var after int64
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			renderError(w, r, badField("cursor", "must be a next_cursor from an earlier page"))
			return
		}
		after = n
	}
	status := q.Get("status")
	if status != "" && !slices.Contains(store.NoticeStatuses, status) {
		renderError(w, r, badField("status", "must be one of "+strings.Join(store.NoticeStatuses, ", ")))
		return
	}
	// Broken stored settings still answer (with the defaults' period):
	// the list is what an operator needs to see to act.
	set, err := s.Store.Settings(r.Context())
	if err != nil && !errors.Is(err, store.ErrSettingsBroken) {
		renderError(w, r, err)
		return
	}
	now := time.Now()
	due, err := s.Store.ConsentsDue(r.Context(), store.ConsentsDueQuery{
		Now: now, PeriodDays: set.ReconfirmEveryDays, Status: status, AfterCustomerID: after, Limit: limit,
	})
	if err != nil {
		renderError(w, r, err)
		return
	}
	counts, err := s.Store.CountConsentsDue(r.Context(), now, set.ReconfirmEveryDays)
	if err != nil {
		renderError(w, r, err)
		return
	}
	out := consentsDueOutput{PeriodDays: set.ReconfirmEveryDays, Counts: counts, Consents: due}
	if out.Consents == nil {
		out.Consents = []store.ConsentDue{}
	}
	if len(due) == limit {
		out.NextCursor = strconv.FormatInt(due[len(due)-1].CustomerID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}
