package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *Server) purchaseRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.postPurchase)
	return r
}

type purchaseInput struct {
	ExternalID  string      `json:"external_id"`
	CustomerID  string      `json:"customer_id"`
	Amount      json.Number `json:"amount"`
	Currency    string      `json:"currency"`
	Category    string      `json:"category"`
	Product     string      `json:"product"`
	Store       string      `json:"store"`
	PurchasedAt *time.Time  `json:"purchased_at"`
}

var (
	amountPattern   = regexp.MustCompile(`^\d{1,12}(\.\d{1,2})?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

func (in purchaseInput) validate() error {
	if err := validExternalID("external_id", in.ExternalID); err != nil {
		return err
	}
	if err := validExternalID("customer_id", in.CustomerID); err != nil {
		return err
	}
	if !amountPattern.MatchString(in.Amount.String()) {
		return badField("amount", "must be a non-negative amount with at most 2 decimals")
	}
	if !currencyPattern.MatchString(in.Currency) {
		return badField("currency", "must be an ISO 4217 code such as KRW")
	}
	if in.PurchasedAt == nil {
		return badField("purchased_at", "is required (RFC 3339)")
	}
	if in.PurchasedAt.After(time.Now().Add(time.Hour)) {
		return badField("purchased_at", "is in the future")
	}
	for f, v := range map[string]string{"category": in.Category, "product": in.Product, "store": in.Store} {
		if len(v) > 200 {
			return badField(f, "longer than 200 characters")
		}
	}
	return nil
}

type purchaseResponse struct {
	store.Purchase
	CustomerID string            `json:"customer_id"`
	Enrolments []store.Enrolment `json:"enrolments"`
}

// postPurchase stores a sale and starts the programs it qualifies for.
// Purchase and enrolment rows are written in one transaction; workflows
// start after commit, under ids fixed by (program, purchase), so repeating
// the request after a failure starts exactly what is missing.
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
	customer, err := s.Store.CustomerByExternalID(ctx, in.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		renderError(w, r, unprocessable("customer_id", "no customer with this id; PUT /v1/customers/{id} first"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	active, err := s.Store.ListPrograms(ctx, programs.KindHappyCall, store.ProgramActive)
	if err != nil {
		renderError(w, r, err)
		return
	}
	byID := map[int64]store.Program{}
	p := store.Purchase{ExternalID: in.ExternalID, CustomerID: customer.ID, Amount: in.Amount.String(), Currency: in.Currency,
		Category: strings.TrimSpace(in.Category), Product: strings.TrimSpace(in.Product), Store: strings.TrimSpace(in.Store), PurchasedAt: in.PurchasedAt.Truncate(time.Microsecond)}
	stored, created, enrolments, err := s.Store.RecordPurchase(ctx, p, func(p store.Purchase, _ int) ([]store.EnrolmentPlan, error) {
		var plans []store.EnrolmentPlan
		for _, prog := range active {
			var hc programs.HappyCall
			if err := json.Unmarshal(prog.Params, &hc); err != nil {
				return nil, err
			}
			if hc.Qualifies(p.Category, p.Product) {
				plans = append(plans, store.EnrolmentPlan{ProgramID: prog.ID, ProgramVersion: prog.Version, WorkflowID: workflows.HappyCallWorkflowID(prog.ID, p.ID), PerPurchase: true})
			}
		}
		return plans, nil
	})
	if errors.Is(err, store.ErrConflict) {
		renderError(w, r, conflict("external_id: a different purchase was already recorded under this id"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	for _, prog := range active {
		byID[prog.ID] = prog
	}
	for _, e := range enrolments {
		if e.Status != store.EnrolmentPending {
			continue
		}
		prog, ok := byID[e.ProgramID]
		if !ok {
			if prog, err = s.Store.Program(ctx, e.ProgramID); err != nil {
				renderError(w, r, err)
				return
			}
		}
		if err := s.startHappyCall(ctx, e, prog, stored, customer); err != nil {
			renderError(w, r, unavailable(err))
			return
		}
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
