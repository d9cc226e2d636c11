package sendcost

import (
	"context"
	"fmt"

	"github.com/dangol/dangol/bench"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// Budget is the limit of database round trips for one normal SMS
// (issue 10: "Database round trips per send ... Goal: <= 4").
const Budget = 4

// Section is make bench's "roundtrips": each case of Run on a database of
// its own. A count is exact, not noisy, so its baseline is the budget
// itself rather than a measurement; the goal (at most the budget) is set on
// the normal SMS sends, and the other cases are shown beside them.
var Section = bench.Section{Name: "roundtrips", Run: func(ctx context.Context, _ *bench.Env) ([]bench.Figure, error) {
	dsn, err := testenv.NewDatabase()
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, dsn); err != nil {
		return nil, err
	}
	cases, err := Run(ctx, dsn)
	if err != nil {
		return nil, err
	}
	var figs []bench.Figure
	for _, c := range cases {
		if c.Delivered != 1 {
			return nil, fmt.Errorf("%s: the provider holds %d messages, want 1", c.Name(), c.Delivered)
		}
		f := bench.Figure{Name: "round trips: " + c.Name(), Value: float64(c.Counts.RoundTrips()), Baseline: Budget, Unit: "round trips",
			Note: "pgx tracer: statements, batches and BEGIN/COMMIT each count one; baseline = the budget"}
		if c.Channel == domain.ChannelSMS && !c.Retry {
			f.Goal = bench.Goal{Op: bench.AtMost, Ratio: 1}
		}
		figs = append(figs, f)
	}
	return figs, nil
}}
