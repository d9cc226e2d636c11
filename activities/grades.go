package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/store"
)

// ErrTypeBadRules marks grade rules the store refuses; retrying cannot fix
// them.
const ErrTypeBadRules = "BadGradeRules"

// RecomputeGrades grades every customer over the rules' window up to now
// (one statement; see store.RecomputeGrades).
func (a *Activities) RecomputeGrades(ctx context.Context, rules store.GradeRules) (store.GradeCounts, error) {
	rules = rules.WithDefaults()
	if err := rules.Validate(); err != nil {
		return store.GradeCounts{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadRules, err)
	}
	counts, err := a.Store.RecomputeGrades(ctx, rules, time.Now())
	return counts, storeErr("recompute grades", err)
}
