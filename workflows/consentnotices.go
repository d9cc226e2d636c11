package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/store"
)

// The consent-notices job's Temporal Schedule, and the id of the
// workflows it starts.
const (
	ConsentNoticesScheduleID = "consent-notices"
	ConsentNoticesWorkflowID = "dangol-consent-notices"
)

// DefaultConsentNoticesPage is how many notices one run sends at once.
const DefaultConsentNoticesPage = 100

// ConsentNoticesInput is where a run of the job stands: which kind of
// notice it is sending and after which row. A run continues as new after
// every page, so its history stays one page long.
type ConsentNoticesInput struct {
	// Kind is store.NoticeChange (the default: changes first, they are
	// owed within days) and then store.NoticeReconfirm.
	Kind  string `json:",omitempty"`
	After int64  `json:",omitempty"`
	// PageSize defaults to DefaultConsentNoticesPage.
	PageSize int `json:",omitempty"`
	// Sent counts what the runs before this one sent, by kind.
	Changes, Reconfirms int `json:",omitempty"`
}

// ConsentNoticesResult counts the notices a finished job handed to
// SendMessage (sent, suppressed or failed: each is recorded).
type ConsentNoticesResult struct {
	Changes    int
	Reconfirms int
}

// ConsentNotices tells customers about their consent, as Korean law
// requires: first the result of every consent change made on their behalf,
// then, for each customer whose reconfirmation notice fell due, that they
// consented to advertising and how to withdraw. Each page's notices go
// through SendMessage at once, under keys that make a repeated run send
// nothing new; each is recorded after its send ended, whatever became of
// it, so an undelivered notice is reported rather than retried forever.
func ConsentNotices(ctx workflow.Context, in ConsentNoticesInput) (ConsentNoticesResult, error) {
	if in.Kind == "" {
		in.Kind = store.NoticeChange
	}
	if in.PageSize <= 0 {
		in.PageSize = DefaultConsentNoticesPage
	}
	dbCtx := workflow.WithActivityOptions(ctx, dbActivity)
	var page activities.ConsentNoticePage
	err := workflow.ExecuteActivity(dbCtx, a.ConsentNoticePage, activities.ConsentNoticePageRequest{
		Kind: in.Kind, After: in.After, Limit: in.PageSize,
	}).Get(ctx, &page)
	if err != nil {
		return ConsentNoticesResult{}, err
	}
	sends := make([]workflow.Future, len(page.Notices))
	for i, n := range page.Notices {
		sends[i] = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, sendOptions(n.Channel)), a.SendMessage, n.SendRequest())
	}
	for _, f := range sends {
		// A send that failed for good has settled its message (failed);
		// the record links it, and GET /v1/consents:due reports it.
		_ = f.Get(ctx, nil)
	}
	if len(page.Notices) > 0 {
		if err := workflow.ExecuteActivity(dbCtx, a.RecordConsentNotices, page.Notices).Get(ctx, nil); err != nil {
			return ConsentNoticesResult{}, err
		}
	}
	if in.Kind == store.NoticeChange {
		in.Changes += len(page.Notices)
	} else {
		in.Reconfirms += len(page.Notices)
	}
	switch {
	case !page.Done:
		in.After = page.NextAfter
	case in.Kind == store.NoticeChange:
		in.Kind, in.After = store.NoticeReconfirm, 0
	default:
		return ConsentNoticesResult{Changes: in.Changes, Reconfirms: in.Reconfirms}, nil
	}
	return ConsentNoticesResult{}, workflow.NewContinueAsNewError(ctx, ConsentNotices, in)
}
