package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/coupons"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *Server) couponRoutes() chi.Router {
	r := chi.NewRouter()
	r.Get("/{code}", s.getCoupon)
	r.Post("/{code}/redeem", s.redeemCoupon)
	return r
}

func (s *Server) getCoupon(w http.ResponseWriter, r *http.Request) {
	code := coupons.Normalize(chi.URLParam(r, "code"))
	if code == "" {
		renderError(w, r, notFound("coupon"))
		return
	}
	k, err := s.Store.CouponByCode(r.Context(), code)
	if errors.Is(err, store.ErrNotFound) {
		renderError(w, r, notFound("coupon"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

// redeemCoupon uses a coupon for an order at the till. The same order may
// repeat the call (a retry) and gets 200 again; another order gets 409; an
// expired coupon 410. A redemption converts the enrolment that issued it.
func (s *Server) redeemCoupon(w http.ResponseWriter, r *http.Request) {
	code := coupons.Normalize(chi.URLParam(r, "code"))
	var in struct {
		OrderID string `json:"order_id"`
	}
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	if err := validExternalID("order_id", in.OrderID); err != nil {
		renderError(w, r, err)
		return
	}
	if code == "" {
		renderError(w, r, notFound("coupon"))
		return
	}
	k, changed, err := s.Store.RedeemCoupon(r.Context(), code, in.OrderID, time.Now())
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		renderError(w, r, notFound("coupon"))
		return
	case errors.Is(err, store.ErrConflict):
		renderError(w, r, conflict("coupon was already used for another order"))
		return
	case errors.Is(err, store.ErrExpired):
		renderError(w, r, &Problem{Type: "about:blank", Title: "Gone", Status: http.StatusGone, Detail: "coupon expired at " + k.ExpiresAt.Format(time.RFC3339)})
		return
	default:
		renderError(w, r, err)
		return
	}
	if changed && k.EnrolmentID != nil {
		if wf, err := s.Store.EnrolmentWorkflowID(r.Context(), *k.EnrolmentID); err == nil {
			s.signal(r, wf, workflows.SignalConverted, workflows.Converted{Reason: "coupon", Ref: in.OrderID, CouponID: k.ID})
		}
	}
	writeJSON(w, http.StatusOK, k)
}
