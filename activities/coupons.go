package activities

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// IssueCouponRequest asks for a coupon for one enrolment step.
type IssueCouponRequest struct {
	Key         string // business key: program, enrolment, step
	ProgramID   int64
	EnrolmentID int64
	CustomerID  int64
	Coupon      programs.Coupon
}

// IssuedCoupon is what the workflow needs to know: which coupon, and
// until when it is valid (recorded in history, so replays agree).
type IssuedCoupon struct {
	ID        int64
	ExpiresAt time.Time
}

// IssueCoupon issues the step's coupon once. It is valid to the end of the
// customer's local day ValidFor from now, so "until Jan 31" means all of
// Jan 31 where the customer lives.
func (a *Activities) IssueCoupon(ctx context.Context, req IssueCouponRequest) (IssuedCoupon, error) {
	c, err := a.Store.CustomerByID(ctx, req.CustomerID)
	if err != nil {
		return IssuedCoupon{}, storeErr("customer", err)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	expires := CouponExpiresAt(req.Coupon.ValidFor, time.Now(), loc)
	k := store.Coupon{
		IdempotencyKey: req.Key, CustomerID: req.CustomerID,
		Kind: req.Coupon.Kind, Value: req.Coupon.Value, Currency: req.Coupon.Currency, ExpiresAt: expires,
	}
	if req.ProgramID != 0 {
		k.ProgramID = &req.ProgramID
	}
	if req.EnrolmentID != 0 {
		k.EnrolmentID = &req.EnrolmentID
	}
	issued, err := a.Store.IssueCoupon(ctx, k)
	if err != nil {
		return IssuedCoupon{}, storeErr("issue coupon", err)
	}
	return IssuedCoupon{ID: issued.ID, ExpiresAt: issued.ExpiresAt}, nil
}

// CouponRedeemed tells whether a coupon was used: the database is the
// truth when a redemption signal may have been lost.
func (a *Activities) CouponRedeemed(ctx context.Context, couponID int64) (bool, error) {
	k, err := a.Store.CouponByID(ctx, couponID)
	if err != nil {
		return false, storeErr("coupon", err)
	}
	return k.RedeemedAt != nil, nil
}

// MarkDormant marks a customer the wake-up program did not bring back.
func (a *Activities) MarkDormant(ctx context.Context, customerID int64) error {
	return storeErr("mark dormant", a.Store.MarkDormant(ctx, customerID))
}

// surveyURL returns the enrolment's survey link for a step; the token is
// random (it is the only credential) and stable across retries.
func (a *Activities) surveyURL(ctx context.Context, enrolmentID, customerID int64, step string) (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token, err := a.Store.SurveyLink(ctx, enrolmentID, customerID, step, base64.RawURLEncoding.EncodeToString(b))
	if err != nil {
		return "", storeErr("survey link", err)
	}
	return strings.TrimRight(a.PublicBaseURL, "/") + "/s/" + token, nil
}

// CouponExpiresAt is when a coupon issued at the moment expires: ValidFor
// later, to the end of that local day unless ValidFor is exact time (the
// program preview shares it).
func CouponExpiresAt(validFor programs.Offset, issued time.Time, loc *time.Location) time.Time {
	expires := validFor.After(issued, loc)
	if validFor.Exact == 0 {
		y, m, d := expires.Date()
		expires = time.Date(y, m, d+1, 0, 0, 0, 0, loc).Add(-time.Second)
	}
	return expires
}
