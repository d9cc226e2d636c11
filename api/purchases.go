package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *Server) purchaseRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.postPurchase)
	return r
}

// purchaseInput takes amount and purchased_at as raw JSON and parses them
// in validate, so a bad value is reported under its own field name.
type purchaseInput struct {
	ExternalID  string          `json:"external_id"`
	CustomerID  string          `json:"customer_id"`
	Amount      json.RawMessage `json:"amount"`
	Currency    string          `json:"currency"`
	Category    string          `json:"category"`
	Product     string          `json:"product"`
	Store       string          `json:"store"`
	PurchasedAt json.RawMessage `json:"purchased_at"`

	amount      string
	purchasedAt time.Time
}

var (
	amountPattern   = regexp.MustCompile(`^\d{1,12}(\.\d{1,2})?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	// minPurchasedAt bounds how far back a sale may be dated: an earlier
	// date is a typo, and would start a program whose every step is due.
	minPurchasedAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (in *purchaseInput) validate() error {
	if err := validExternalID("external_id", in.ExternalID); err != nil {
		return err
	}
	if err := validExternalID("customer_id", in.CustomerID); err != nil {
		return err
	}
	// A number or a string holding one: "1290000" and 1290000 are the same.
	in.amount = strings.Trim(string(in.Amount), `"`)
	if !amountPattern.MatchString(in.amount) {
		return badField("amount", "must be a non-negative amount with at most 2 decimals")
	}
	if !currencyPattern.MatchString(in.Currency) {
		return badField("currency", "must be an ISO 4217 code such as KRW")
	}
	if err := checkAmount(in.amount, in.Currency); err != nil {
		return err
	}
	var at string
	if len(in.PurchasedAt) == 0 || string(in.PurchasedAt) == "null" {
		return badField("purchased_at", "is required (RFC 3339)")
	}
	t, err := time.Parse(time.RFC3339Nano, strings.Trim(string(in.PurchasedAt), `"`))
	if json.Unmarshal(in.PurchasedAt, &at) != nil || err != nil {
		return badField("purchased_at", "must be an RFC 3339 time with a zone, such as 2026-11-23T10:00:00+09:00")
	}
	if t.After(time.Now().Add(time.Hour)) {
		return badField("purchased_at", "is in the future")
	}
	if t.Before(minPurchasedAt) {
		return badField("purchased_at", "is before 2000-01-01")
	}
	in.purchasedAt = t.Truncate(time.Microsecond)
	for _, f := range []struct{ name, v string }{{"category", in.Category}, {"product", in.Product}, {"store", in.Store}} {
		if err := checkLength(f.name, f.v, 200); err != nil {
			return err
		}
	}
	return nil
}

type purchaseResponse struct {
	store.Purchase
	CustomerID string            `json:"customer_id"`
	Enrolments []store.Enrolment `json:"enrolments"`
}

// postPurchase stores a sale, ends the enrolments it converts and starts
// the programs it qualifies for. Purchase and enrolment rows are written in
// one transaction; workflows start after commit, under ids fixed by
// (program, purchase) or (program, customer), so repeating the request
// after a failure starts exactly what is missing.
func (s *Server) postPurchase(w http.ResponseWriter, r *http.Request) {
	var in purchaseInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	if err := in.validate(); err != nil {
		renderError(w, r, err)
		return
	}
	ctx := r.Context()
	// The customer, the active programs and the enrolments that were
	// live before this purchase (the ones it can convert), read before
	// the purchase starts new ones, in one round trip.
	intake, err := s.Store.ReadPurchaseIntake(ctx, in.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		renderError(w, r, unprocessable("customer_id", "no customer with this id; PUT /v1/customers/{id} first"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	customer, active, live := intake.Customer, intake.Active, intake.Live
	p := store.Purchase{ExternalID: in.ExternalID, CustomerID: customer.ID, Amount: in.amount, Currency: in.Currency,
		Category: strings.TrimSpace(in.Category), Product: strings.TrimSpace(in.Product), Store: strings.TrimSpace(in.Store),
		PurchasedAt: in.purchasedAt}
	// A program whose params cannot be read is left out (and logged): one
	// broken program must not stop every sale from being recorded. Each
	// is decoded once, here, for planning and starting alike.
	var readable []decodedProgram
	for _, prog := range active {
		params, err := decodeProgram(prog)
		if err != nil {
			s.logger().ErrorContext(ctx, "purchase skips a broken program", "program", prog.ID, "error", err)
			continue
		}
		readable = append(readable, decodedProgram{Program: prog, params: params})
	}
	stored, created, enrolments, err := s.Store.RecordPurchase(ctx, p, func(p store.Purchase, count int) ([]store.EnrolmentPlan, error) {
		return planEnrolments(readable, p, count), nil
	})
	if errors.Is(err, store.ErrConflict) {
		renderError(w, r, conflict("external_id: a different purchase was already recorded under this id"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	// A repeat converts too: the attempt that committed the purchase may
	// have died before its signals went (the database has it, so the
	// gates would find it, but only at the next step). Signals of an
	// attempt that did send them are harmless (workflows.Converted).
	s.convert(r, convertible(live, stored, created), workflows.Converted{Reason: "purchase", Ref: stored.ExternalID})
	byID := map[int64]decodedProgram{}
	for _, prog := range readable {
		byID[prog.ID] = prog
	}
	if created {
		// A new purchase's enrolments are new rows; a repeated one's
		// were counted when it was first recorded.
		for _, e := range enrolments {
			metrics.EnrolmentsStarted(byID[e.ProgramID].Kind, 1)
		}
	}
	var started []int64
	for _, e := range enrolments {
		if e.Status != domain.EnrolmentPending {
			continue
		}
		prog, ok := byID[e.ProgramID]
		if !ok {
			// A repeated purchase's enrolment whose program has since
			// been paused, stopped or broken.
			if prog.Program, err = s.Store.Program(ctx, e.ProgramID); err != nil {
				renderError(w, r, err)
				return
			}
			if prog.params, err = decodeProgram(prog.Program); err != nil {
				s.logger().ErrorContext(ctx, "purchase skips a broken program", "program", prog.ID, "enrolment", e.ID, "error", err)
				continue
			}
		}
		if err := s.startPurchaseEnrolment(ctx, e, prog, stored, customer); err != nil {
			renderError(w, r, unavailable(err))
			return
		}
		started = append(started, e.ID)
	}
	// The started workflows run: marked active here in one statement, so
	// their first sleep needs no activity before it. The answer shows the
	// rows as the purchase wrote them. Failing, the sale is stored and
	// started; repeating the request marks them.
	if err := s.Store.MarkEnrolmentsActive(ctx, started); err != nil {
		renderError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	if enrolments == nil {
		enrolments = []store.Enrolment{}
	}
	writeJSON(w, status, purchaseResponse{Purchase: stored, CustomerID: customer.ExternalID, Enrolments: enrolments})
}

// decodedProgram is a program with its current version's params decoded.
type decodedProgram struct {
	store.Program
	params programs.Params
}

// planEnrolments decides which event programs a new purchase enters: every
// happy call it qualifies for, and second-purchase programs on a
// customer's first purchase.
func planEnrolments(active []decodedProgram, p store.Purchase, purchaseCount int) []store.EnrolmentPlan {
	var plans []store.EnrolmentPlan
	for _, prog := range active {
		// A held-out customer is enrolled in control: recorded ended, so
		// postPurchase starts no workflow for it.
		control := enrol.Control(enrol.Program{ID: prog.ID, Kind: prog.Kind, Version: prog.Version, Params: prog.params}, p.CustomerID)
		switch params := prog.params.(type) {
		case *programs.HappyCall:
			if params.Qualifies(p.Category, p.Product) {
				plans = append(plans, store.EnrolmentPlan{ProgramID: prog.ID, ProgramVersion: prog.Version,
					WorkflowID: workflows.HappyCallWorkflowID(prog.ID, p.ID), PerPurchase: true, Control: control})
			}
		case *programs.SecondPurchase:
			if purchaseCount == 1 {
				plans = append(plans, store.EnrolmentPlan{ProgramID: prog.ID, ProgramVersion: prog.Version,
					WorkflowID: programs.EnrolmentWorkflowID(prog.Kind, prog.ID, p.CustomerID), Control: control})
			}
		}
	}
	return plans
}

// convertible are the enrolments a purchase converts: those live before
// it. A new purchase's live list was read before it was recorded; a
// repeat's is read now, so it leaves out what was enrolled with the
// purchase or after it (its own second-purchase enrolment among them).
func convertible(live []store.LiveEnrolment, p store.Purchase, created bool) []store.LiveEnrolment {
	if created {
		return live
	}
	var before []store.LiveEnrolment
	for _, e := range live {
		if e.CreatedAt.Before(p.CreatedAt) && (e.PurchaseID == nil || *e.PurchaseID != p.ID) {
			before = append(before, e)
		}
	}
	return before
}

// convert tells the enrolments whose program counts a purchase as its goal
// that the customer came back. Each ends at once, even mid-wait.
func (s *Server) convert(r *http.Request, live []store.LiveEnrolment, c workflows.Converted) {
	for _, e := range live {
		prog := e.Program
		params, err := decodeProgram(prog)
		if err != nil {
			s.logger().ErrorContext(r.Context(), "conversion skips a broken program", "program", prog.ID, "enrolment", e.ID, "error", err)
			continue
		}
		if !params.ExitsOnPurchase() {
			continue
		}
		s.signal(r, e.WorkflowID, workflows.SignalConverted, c)
	}
}
