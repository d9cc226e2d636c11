package store_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/bench/dbbench"
	"github.com/dangol/dangol/internal/testenv"
)

// audienceCustomers sizes BenchmarkAudienceCount: -audience.customers or
// DANGOL_AUDIENCE_CUSTOMERS (the figure is for 1000000).
var audienceCustomers = flag.Int("audience.customers", envInt("DANGOL_AUDIENCE_CUSTOMERS", 20000), "customers BenchmarkAudienceCount builds")

// BenchmarkAudienceCount previews a welcome-back audience
// (dbbench.AudienceFilter) over -audience.customers customers, each time
// alongside the hand-written SQL for the same question, and reports both
// and their ratio (goal: near 1). At 1,000,000:
//
//	DANGOL_AUDIENCE_CUSTOMERS=1000000 go test ./store -run '^$' -bench AudienceCount -benchtime 5x
func BenchmarkAudienceCount(b *testing.B) {
	st, dsn := testenv.Store(b)
	ctx := context.Background()
	if err := dbbench.SeedAudience(ctx, dsn, *audienceCustomers); err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var compiled, hand []time.Duration
	for b.Loop() {
		start := time.Now()
		n, _, err := st.PreviewAudience(ctx, dbbench.AudienceFilter(), dbbench.AudienceNow)
		if err != nil {
			b.Fatal(err)
		}
		compiled = append(compiled, time.Since(start))
		start = time.Now()
		m, err := dbbench.HandwrittenAudience(ctx, pool)
		if err != nil {
			b.Fatal(err)
		}
		hand = append(hand, time.Since(start))
		if n != m || n == 0 {
			b.Fatalf("compiled counts %d, hand-written %d", n, m)
		}
	}
	c, h := dbbench.Median(compiled), dbbench.Median(hand)
	b.ReportMetric(float64(c.Milliseconds()), "compiled-ms")
	b.ReportMetric(float64(h.Milliseconds()), "handwritten-ms")
	b.ReportMetric(float64(c)/float64(h), "ratio")
	b.StopTimer()
	plan, err := st.ExplainAudienceCount(ctx, dbbench.AudienceFilter(), dbbench.AudienceNow)
	if err != nil {
		b.Fatal(err)
	}
	handPlan, err := dbbench.ExplainHandwrittenCount(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	// Printed whole: a benchmark's b.Log is cut after a few lines.
	fmt.Fprintf(os.Stderr, "compiled:\n%s\nhand-written:\n%s\n", plan, handPlan)
}
