package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/store"
)

// FanOutPageSize is how many enrolments one FanOutPage signals.
const FanOutPageSize = 500

// fanOutConcurrency bounds the signals one page has in flight.
const fanOutConcurrency = 32

// FanOutPageResult says whether the fan-out has more pages.
type FanOutPageResult struct {
	Signalled int
	Ended     int
	Done      bool
}

// FanOutPage signals the next page of a fan-out's live enrolments and
// records the progress. Signals are idempotent in the enrolment workflows
// (a second "stop" changes nothing), so a retried page is harmless; an
// enrolment whose workflow has ended is counted, not retried.
func (a *Activities) FanOutPage(ctx context.Context, fanOutID int64) (FanOutPageResult, error) {
	f, page, superseded, err := a.Store.FanOutPage(ctx, fanOutID, FanOutPageSize)
	if err != nil {
		return FanOutPageResult{}, storeErr("fan-out page", err)
	}
	if superseded || f.Status != store.FanOutRunning {
		return FanOutPageResult{Done: true}, nil
	}
	var payload any
	if len(f.Payload) > 0 && string(f.Payload) != "null" {
		payload = json.RawMessage(f.Payload)
	}
	ended := make([]bool, len(page))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fanOutConcurrency)
	for i, t := range page {
		g.Go(func() error {
			err := a.Temporal.SignalWorkflow(gctx, t.WorkflowID, "", f.Signal, payload)
			var nf *serviceerror.NotFound
			switch {
			case errors.As(err, &nf):
				ended[i] = true // finished meanwhile: nothing to tell it
			case err != nil:
				return fmt.Errorf("signal %s: %w", t.WorkflowID, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return FanOutPageResult{}, err
	}
	res := FanOutPageResult{Done: len(page) < FanOutPageSize}
	for _, e := range ended {
		if e {
			res.Ended++
		} else {
			res.Signalled++
		}
	}
	after := f.After
	if len(page) > 0 {
		after = page[len(page)-1].EnrolmentID
	}
	if _, err := a.Store.AdvanceFanOut(ctx, f.ID, after, res.Signalled, res.Ended, res.Done); err != nil {
		return FanOutPageResult{}, storeErr("fan-out progress", err)
	}
	metrics.FanOutPage(f.Signal, res.Signalled, res.Ended, res.Done)
	activity.RecordHeartbeat(ctx, after)
	return res, nil
}
