package store_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/bench/dbbench"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// reportEnrolments sizes BenchmarkProgramReport: -report.enrolments or
// DANGOL_REPORT_ENROLMENTS (the target is 1000000 in under 2 s).
var reportEnrolments = flag.Int("report.enrolments", envInt("DANGOL_REPORT_ENROLMENTS", 20000), "enrolments BenchmarkProgramReport builds")

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkProgramReport reads the report of a whole program with
// -report.enrolments enrolments (default 20,000; dbbench.SeedReport says
// what else the database holds) from its stored days, after storing them
// as the report-rollups job does, and logs its plan. At 1,000,000:
//
//	DANGOL_REPORT_ENROLMENTS=1000000 go test ./store -run '^$' -bench ProgramReport -benchtime 3x
func BenchmarkProgramReport(b *testing.B) {
	st, dsn := testenv.Store(b)
	ctx := context.Background()
	id, err := dbbench.SeedReport(ctx, dsn, *reportEnrolments)
	if err != nil {
		b.Fatal(err)
	}
	q := dbbench.ReportQuery(id)
	start := time.Now()
	for more := true; more; {
		if _, more, err = st.RefreshReportDays(ctx, id, store.ReportWindow{Months: q.WindowMonths, Days: q.WindowDays, Seconds: q.WindowSeconds},
			q.Now, store.MaxRollupDaysPerCall); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "stored every day in %s\n", time.Since(start).Round(time.Millisecond))
	for b.Loop() {
		figs, err := st.ProgramReport(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(figs) != dbbench.Stores {
			b.Fatalf("%d stores, want %d", len(figs), dbbench.Stores)
		}
	}
	b.ReportMetric(float64(*reportEnrolments), "enrolments")
	b.StopTimer()
	plan, err := st.ExplainReport(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	// Printed whole: a benchmark's b.Log is cut after a few lines.
	fmt.Fprintf(os.Stderr, "report of the whole program:\n%s\n", plan)
}

// TestProgramReportUsesIndexes checks the plan of one day's report reads
// every big table through its index, not a scan of all rows of all
// programs.
func TestProgramReportUsesIndexes(t *testing.T) {
	st, dsn := testenv.Store(t)
	ctx := context.Background()
	id, err := dbbench.SeedReport(ctx, dsn, 20000)
	if err != nil {
		t.Fatal(err)
	}
	// One day of the hundred: the report reads that day's enrolments and
	// what belongs to them, by index, whatever else the tables hold.
	q := dbbench.DayQuery(id)
	plan, err := st.ExplainReport(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// At this size PostgreSQL rightly reads the small tables (2,000 call
	// tasks, 3,333 coupons, 24,000 purchases for the conversions) whole;
	// the big ones must go by index.
	for _, index := range []string{"enrolments_program_created_idx", "purchases_customer_idx", "messages_enrolment_idx"} {
		if !strings.Contains(plan, index) {
			t.Errorf("the plan does not use %s", index)
		}
	}
	for _, table := range []string{"enrolments", "messages"} {
		if strings.Contains(plan, "Seq Scan on "+table) {
			t.Errorf("the plan scans all of %s", table)
		}
	}
	if t.Failed() {
		t.Log(plan)
	}
	figs, err := st.ProgramReport(ctx, q)
	if err != nil || len(figs) == 0 {
		t.Fatalf("report of one day: %v, %d stores", err, len(figs))
	}
}
