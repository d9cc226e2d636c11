package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/coupons"
)

// ErrExpired is returned when redeeming a coupon past its expiry; the API
// maps it to 410.
var ErrExpired = errors.New("expired")

// Coupon is a single-use discount issued to one customer.
type Coupon struct {
	ID             int64      `json:"-"`
	Code           string     `json:"code"`
	IdempotencyKey string     `json:"-"`
	ProgramID      *int64     `json:"program_id"`
	EnrolmentID    *int64     `json:"-"`
	CustomerID     int64      `json:"-"`
	CustomerExtID  string     `json:"customer_id"`
	Kind           string     `json:"kind"`
	Value          string     `json:"value"`
	Currency       string     `json:"currency"`
	IssuedAt       time.Time  `json:"issued_at"`
	ExpiresAt      time.Time  `json:"expires_at"`
	RedeemedAt     *time.Time `json:"redeemed_at"`
	RedeemedOrder  *string    `json:"redeemed_order"`
}

// Display renders the value as a customer reads it: "10,000원", "10%".
func (c Coupon) Display() string {
	if c.Kind == "percent" {
		return strings.TrimSuffix(strings.TrimSuffix(c.Value, ".00"), ".0") + "%"
	}
	whole, frac, _ := strings.Cut(c.Value, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" && strings.Trim(frac, "0") != "" {
		b.WriteString("." + frac)
	}
	if c.Currency == "KRW" {
		return b.String() + "원"
	}
	return b.String() + " " + c.Currency
}

const couponCols = `k.id, k.code, k.idempotency_key, k.program_id, k.enrolment_id, k.customer_id, c.external_id, k.kind, k.value::text,
	k.currency, k.issued_at, k.expires_at, k.redeemed_at, k.redeemed_order`

const couponFrom = ` FROM coupons k JOIN customers c ON c.id = k.customer_id `

func scanCoupon(row pgx.Row) (Coupon, error) {
	var k Coupon
	err := row.Scan(&k.ID, &k.Code, &k.IdempotencyKey, &k.ProgramID, &k.EnrolmentID, &k.CustomerID, &k.CustomerExtID, &k.Kind, &k.Value,
		&k.Currency, &k.IssuedAt, &k.ExpiresAt, &k.RedeemedAt, &k.RedeemedOrder)
	return k, notFound(err)
}

// IssueCoupon stores a coupon under its idempotency key with a fresh code,
// or returns the coupon already issued under that key.
func (s *Store) IssueCoupon(ctx context.Context, k Coupon) (Coupon, error) {
	if got, err := scanCoupon(s.pool.QueryRow(ctx, `SELECT `+couponCols+couponFrom+`WHERE k.idempotency_key = $1`, k.IdempotencyKey)); err != ErrNotFound {
		return got, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		code, err := coupons.NewCode()
		if err != nil {
			return Coupon{}, err
		}
		var id int64
		err = s.pool.QueryRow(ctx, `
			INSERT INTO coupons (code, idempotency_key, program_id, enrolment_id, customer_id, kind, value, currency, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9)
			ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
			RETURNING id`,
			code, k.IdempotencyKey, k.ProgramID, k.EnrolmentID, k.CustomerID, k.Kind, k.Value, k.Currency, k.ExpiresAt).Scan(&id)
		if isUniqueViolation(err) {
			continue // the code collided: draw another
		}
		if err != nil {
			return Coupon{}, err
		}
		return s.CouponByID(ctx, id)
	}
	return Coupon{}, fmt.Errorf("issue coupon: no free code after 5 draws")
}

// CouponByID loads a coupon.
func (s *Store) CouponByID(ctx context.Context, id int64) (Coupon, error) {
	return scanCoupon(s.pool.QueryRow(ctx, `SELECT `+couponCols+couponFrom+`WHERE k.id = $1`, id))
}

// CouponByCode loads a coupon by its normalised code.
func (s *Store) CouponByCode(ctx context.Context, code string) (Coupon, error) {
	return scanCoupon(s.pool.QueryRow(ctx, `SELECT `+couponCols+couponFrom+`WHERE k.code = $1`, code))
}

// RedeemCoupon uses a coupon for an order. Redeeming again for the same
// order returns the coupon unchanged (changed=false); another order gets
// ErrConflict; a coupon past its expiry gets ErrExpired.
func (s *Store) RedeemCoupon(ctx context.Context, code, order string, now time.Time) (k Coupon, changed bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		k, err = scanCoupon(tx.QueryRow(ctx, `SELECT `+couponCols+couponFrom+`WHERE k.code = $1 FOR UPDATE OF k`, code))
		if err != nil {
			return err
		}
		if k.RedeemedOrder != nil {
			if *k.RedeemedOrder == order {
				return nil
			}
			return ErrConflict
		}
		if !now.Before(k.ExpiresAt) {
			return ErrExpired
		}
		k, err = scanCoupon(tx.QueryRow(ctx, `WITH u AS (UPDATE coupons SET redeemed_at = $2, redeemed_order = $3 WHERE id = $1 RETURNING *)
			SELECT `+strings.ReplaceAll(couponCols, "k.", "u.")+` FROM u JOIN customers c ON c.id = u.customer_id`, k.ID, now, order))
		changed = err == nil
		return err
	})
	return k, changed, err
}

// MarkDormant records that the wake-up program could not bring the
// customer back; a purchase makes them active again.
func (s *Store) MarkDormant(ctx context.Context, customerID int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE customers SET lifecycle = 'dormant', updated_at = now() WHERE id = $1`, customerID)
	return err
}

// SurveyLink returns the token of the enrolment's survey link for a step,
// creating it with newToken the first time.
func (s *Store) SurveyLink(ctx context.Context, enrolmentID, customerID int64, step, newToken string) (string, error) {
	var token string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO survey_links (token, enrolment_id, customer_id, step) VALUES ($1, $2, $3, $4)
		ON CONFLICT (enrolment_id, step) DO UPDATE SET step = EXCLUDED.step
		RETURNING token`, newToken, enrolmentID, customerID, step).Scan(&token)
	return token, err
}

// AnswerSurvey records a survey answer as voice of the customer, once.
func (s *Store) AnswerSurvey(ctx context.Context, token, answer string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var customerID int64
		err := tx.QueryRow(ctx, `UPDATE survey_links SET answered_at = coalesce(answered_at, now()) WHERE token = $1 RETURNING customer_id`, token).Scan(&customerID)
		if err != nil {
			return notFound(err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO customer_voices (customer_id, source, source_ref, note) VALUES ($1, 'survey', $2, $3)
			ON CONFLICT (source_ref) DO NOTHING`, customerID, "survey:"+token, answer)
		return err
	})
}
