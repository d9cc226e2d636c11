package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Defect 5: an amount is bounded per currency (its decimals and a
// maximum), with a 400 naming "amount". Before the fix any 12-digit amount
// with 2 decimals was taken, in any currency.
func TestPurchaseAmountBoundedPerCurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수"}, nil)
	at := time.Now().Add(-time.Hour)
	for i, tc := range []struct {
		amount, currency string
		ok               bool
	}{
		{"10000000000", "KRW", true},
		{"10000000000.00", "KRW", true},
		{"10000000001", "KRW", false},
		{"10000000000.01", "KRW", false},
		{"1.5", "KRW", false},
		{"999999999999", "KRW", false},
		{"1000000000", "JPY", true},
		{"1000000001", "JPY", false},
		{"10000000", "USD", true},
		{"9999999.99", "USD", true},
		{"10000000.01", "USD", false},
		{"10.5", "EUR", true},
		{"20000000", "EUR", false},
		{"1000000000", "GBP", true},
		{"1000000000.01", "GBP", false},
	} {
		t.Run(tc.amount+" "+tc.currency, func(t *testing.T) {
			r := e.call("POST", "/v1/purchases", with(purchase(fmt.Sprintf("o-%d", i), "c-1", "가전", at), map[string]any{"amount": tc.amount, "currency": tc.currency}))
			if tc.ok {
				if r.status != http.StatusCreated {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			r.wantProblem(t, http.StatusBadRequest, "amount")
		})
	}
}

// Defect 5: a customer's statistics cannot overflow. 9,999 maximal KRW
// purchases are on record; the next two take the total past what
// numeric(16,2) holds, which answered 500 for every later purchase of the
// customer before the fix.
func TestCustomerStatsCannotOverflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수"}, nil)
	const maxKRW = "10000000000"
	if _, err := e.db.Exec(ctx, `
		WITH c AS (SELECT id FROM customers WHERE external_id = 'c-1'),
		p AS (
			INSERT INTO purchases (external_id, customer_id, amount, currency, purchased_at)
			SELECT 'seed-' || i, c.id, $1::numeric, 'KRW', now() - interval '1 day' - i * interval '1 minute'
			FROM c, generate_series(1, 9999) i
			RETURNING customer_id, amount, purchased_at
		)
		INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
		SELECT customer_id, count(*), sum(amount), min(purchased_at), max(purchased_at) FROM p GROUP BY customer_id`, maxKRW); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		body := with(purchase(fmt.Sprintf("o-%d", i), "c-1", "가전", time.Now().Add(-time.Hour)), map[string]any{"amount": maxKRW})
		if r := e.call("POST", "/v1/purchases", body); r.status != http.StatusCreated {
			t.Fatalf("purchase %d after 9,999 maximal ones: %d %s", i+1, r.status, r.body)
		}
	}
	var count int64
	var spend string
	if err := e.db.QueryRow(ctx, `SELECT purchase_count, total_spend::text FROM customer_stats`).Scan(&count, &spend); err != nil {
		t.Fatal(err)
	}
	if count != 10001 || (spend != "100010000000000" && spend != "100010000000000.00") {
		t.Fatalf("stats %d purchases, %s spent; want 10001 and 100010000000000", count, spend)
	}
}
