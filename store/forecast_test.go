package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/forecast"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// seedForecast writes n customers (SMS consent, half of them lapsed
// 200 days, the rest buying in the last 91 days: 1.5 purchases each on
// average, in 20 stores).
func seedForecast(tb testing.TB, dsn string, n int) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`INSERT INTO customers (external_id, phone, consent)
		 SELECT 'c-' || g, '+8210' || lpad(g::text, 8, '0'), '{"sms": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "seed"}, "call": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "seed"}}'::jsonb
		 FROM generate_series(1, $1) g`,
		`INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
		 SELECT 'o-' || c.id || '-' || k, c.id, 10000, 'KRW', 'store-' || (c.id % 20),
		        CASE WHEN c.id % 2 = 0 THEN now() - interval '200 days' ELSE now() - (((c.id * 7 + k * 13) % 90) || ' days')::interval END
		 FROM customers c, generate_series(1, 1 + (c.id % 2)::int + (c.id % 3 = 0)::int) k`,
		`INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
		 SELECT customer_id, count(*), sum(amount), min(purchased_at), max(purchased_at) FROM purchases GROUP BY customer_id`,
		`ANALYZE`,
	} {
		args := []any{}
		if len(q) > 0 && q[0:6] == "INSERT" && q[12:21] == "customers" {
			args = append(args, n)
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkForecast100k is a welcome-back's and a happy call's forecast
// over 100,000 customers, reads and computation (the API's work less
// JSON):
//
//	go test ./store -run '^$' -bench Forecast100k -benchtime 3x
func BenchmarkForecast100k(b *testing.B) {
	st, dsn := testenv.Store(b)
	seedForecast(b, dsn, 100000)
	ctx := context.Background()
	s := compliance.Defaults()
	s.SenderName, s.SenderContact, s.OptOutNumber = "단골", "02-555-0100", "080-555-0100"
	wb, err := programs.Parse(programs.KindWelcomeBack, json.RawMessage(`{}`))
	if err != nil {
		b.Fatal(err)
	}
	hc, err := programs.Parse(programs.KindHappyCall, json.RawMessage(`{}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		now := time.Now()
		count, sample, err := st.ForecastAudience(ctx, wb.(programs.Segment).SweepSettings().Audience, now, store.ForecastSampleSize)
		if err != nil {
			b.Fatal(err)
		}
		places := forecast.NewPlaces(s)
		cs := make([]forecast.Customer, len(sample))
		for i, c := range sample {
			cs[i] = places.Customer(c)
		}
		f, err := forecast.Segment(forecast.Input{Params: wb, Settings: s, From: now, Zone: time.UTC}, cs, float64(count)/float64(len(cs)))
		if err != nil || count != 50000 || f.Enrolments < 50000 {
			b.Fatalf("audience %d, enrolments %v: %v", count, f.Enrolments, err)
		}
		pcount, ps, err := st.ForecastPurchases(ctx, store.ForecastPurchaseQuery{Since: now.AddDate(0, 0, -forecast.LookbackDays), Until: now, Limit: store.ForecastSampleSize})
		if err != nil {
			b.Fatal(err)
		}
		fps := make([]forecast.Purchase, len(ps))
		for i, p := range ps {
			fps[i] = forecast.Purchase{Customer: places.Customer(p.Customer), Store: p.Store, At: p.PurchasedAt}
		}
		if _, err := forecast.Events(forecast.Input{Params: hc, Settings: s, From: now, Zone: time.UTC}, fps, float64(pcount)/float64(len(fps))); err != nil || pcount < 50000 {
			b.Fatalf("purchases %d: %v", pcount, err)
		}
	}
}
