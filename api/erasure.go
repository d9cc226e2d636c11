package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// eraseCustomer removes the customer's personal data everywhere (see
// store.EraseCustomer) and ends their running enrolments in the
// background: 202 with the erasure and its fan-out's progress. The
// external id is freed with the data, so a second DELETE is 404 and a
// later PUT of the same id creates a new customer.
func (s *Server) eraseCustomer(w http.ResponseWriter, r *http.Request) {
	e, err := s.EraseCustomer(r.Context(), chi.URLParam(r, "externalID"), apiKeyName(r.Context()))
	if err != nil {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"erasure": e})
}

// EraseCustomer erases the customer with externalID on behalf of actor
// (an API key's name, or the operator) and hands the end of their running
// enrolments to the customer's FanOut workflow. If that hand-over fails
// the erasure still stands (it is logged): each enrolment's gate finds
// the customer erased before its next step, and its send path sends
// nothing to an erased customer.
func (s *Server) EraseCustomer(ctx context.Context, externalID, actor string) (store.Erasure, error) {
	payload, err := json.Marshal(workflows.ControlSignal{Action: workflows.ActionErase})
	if err != nil {
		return store.Erasure{}, err
	}
	e, err := s.Store.EraseCustomer(ctx, externalID, actor, workflows.SignalControl, payload)
	if err != nil {
		return e, err
	}
	f, err := s.startFanOut(ctx, store.FanOutScope{CustomerID: e.CustomerID}, e.FanOut)
	if err != nil {
		s.logger().ErrorContext(ctx, "fan out the erasure", "erasure", e.ID, "error", err)
		return e, nil
	}
	e.FanOut = f
	return e, nil
}
