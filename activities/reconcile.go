package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// ReconcileRequest bounds one run of the reconcile job. Zero fields take
// the defaults below.
type ReconcileRequest struct {
	// QuietFor: an SMS whose status has not changed for this long is
	// asked about (its callbacks may have been lost).
	QuietFor time.Duration
	// MaxAge: older SMS are left as they are; the provider settles a
	// message within days, and some carriers never report delivery.
	MaxAge time.Duration
	// Limit caps the messages of each kind looked at per run, oldest
	// first; the next run takes the rest.
	Limit int
	// StuckAfter: a message still pending or sending this long after it
	// was claimed is past any send's retry budget, so nothing will settle
	// it but this job. Zero: such messages are left alone.
	StuckAfter time.Duration
}

// Reconcile defaults.
const (
	DefaultReconcileQuietFor = 5 * time.Minute
	DefaultReconcileMaxAge   = 7 * 24 * time.Hour
	DefaultReconcileLimit    = 200
	maxReconcileLimit        = 5000
	// reconcileParallel bounds the provider calls in flight at once.
	reconcileParallel = 4
)

func (r ReconcileRequest) withDefaults() ReconcileRequest {
	if r.QuietFor <= 0 {
		r.QuietFor = DefaultReconcileQuietFor
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultReconcileMaxAge
	}
	if r.Limit <= 0 {
		r.Limit = DefaultReconcileLimit
	}
	r.Limit = min(r.Limit, maxReconcileLimit)
	return r
}

// ReconcileResult counts what one run did.
type ReconcileResult struct {
	Checked int // SMS whose status was fetched from the provider
	Updated int // ... and whose status changed
	Settled int // pending or sending messages past their budget, settled
	Errors  int // messages left for the next run
}

// ReconcileMessages brings messages in line with the provider after
// downtime: it fetches the provider's status of SMS left non-final (their
// callbacks arrived while dangol or PostgreSQL was down) and applies it as
// a callback would (never backwards, one event per distinct report); and
// it settles messages whose sending stopped without an answer (a worker
// died on the last attempt). A message that fails is counted and left for
// the next run; only a failure to list is an error.
func (a *Activities) ReconcileMessages(ctx context.Context, req ReconcileRequest) (ReconcileResult, error) {
	req = req.withDefaults()
	var res ReconcileResult
	unsettled, err := a.Store.UnsettledSMS(ctx, req.QuietFor, req.MaxAge, req.Limit)
	if err != nil {
		return res, fmt.Errorf("list unsettled SMS: %w", err)
	}
	outcomes := make([]outcome, len(unsettled))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reconcileParallel)
	for i, m := range unsettled {
		g.Go(func() error {
			outcomes[i] = a.refresh(gctx, m)
			return nil
		})
	}
	_ = g.Wait()
	for _, o := range outcomes {
		res.Checked += b2i(o.checked)
		res.Updated += b2i(o.changed)
		res.Errors += b2i(o.err != nil)
	}
	if req.StuckAfter > 0 {
		stuck, err := a.Store.InFlight(ctx, req.StuckAfter, req.Limit)
		if err != nil {
			return res, fmt.Errorf("list messages in flight: %w", err)
		}
		for _, m := range stuck {
			if err := a.settleStuck(ctx, m); err != nil {
				logger(ctx).Warn("reconcile: message not settled", "message", m.ID, "error", err)
				res.Errors++
				continue
			}
			res.Settled++
		}
	}
	logger(ctx).Info("reconcile: done", "checked", res.Checked, "updated", res.Updated, "settled", res.Settled, "errors", res.Errors)
	return res, nil
}

type outcome struct {
	checked, changed bool
	err              error
}

// refresh fetches one SMS's status from the provider and applies it.
func (a *Activities) refresh(ctx context.Context, m store.Message) outcome {
	r, err := a.SMS.Fetch(ctx, *m.ProviderID)
	var pe *sms.ProviderError
	switch {
	case errors.As(err, &pe) && pe.HTTPStatus == 404:
		// The provider does not know it (deleted, another account): asking
		// again soon will not help, so it goes to the back of the queue.
		logger(ctx).Warn("reconcile: provider does not know the message", "message", m.ID, "sid", *m.ProviderID)
		if cerr := a.Store.MarkChecked(ctx, m.ID); cerr != nil {
			err = cerr
		}
		return outcome{err: err, checked: true}
	case err != nil:
		logger(ctx).Warn("reconcile: fetch failed", "message", m.ID, "error", err)
		return outcome{err: err}
	}
	got, err := a.Store.ApplyProviderReport(ctx, store.ProviderReport{
		MessageID: m.ID, ProviderID: *m.ProviderID, Status: r.Status,
		ErrorCode: errorCode(r.ErrorCode), ErrorMessage: r.ErrorMessage, Source: "reconcile",
	})
	if err == nil {
		err = a.Store.MarkChecked(ctx, m.ID)
	}
	if err != nil {
		logger(ctx).Warn("reconcile: recording failed", "message", m.ID, "error", err)
		return outcome{checked: true, err: err}
	}
	return outcome{checked: true, changed: got.Status != m.Status}
}

// settleStuck ends a message still pending or sending past any retry
// budget. An SMS that reached the provider takes the provider's answer;
// a mail that reached the end of data is ambiguous; the rest failed.
func (a *Activities) settleStuck(ctx context.Context, m store.Message) error {
	const reason = "no answer within the send's retry budget (the worker stopped during its last attempt)"
	var err error
	switch {
	case m.Channel == domain.ChannelSMS && m.Status == domain.MessageSending && m.SendStartedAt != nil:
		found, ok, ferr := a.SMS.Find(ctx, m.Recipient, m.Body, *m.SendStartedAt)
		if ferr != nil {
			return fmt.Errorf("look up at the provider: %w", ferr)
		}
		if ok {
			_, err = a.Store.MarkAccepted(ctx, m.ID, found.ProviderID, orQueued(found.Status))
			break
		}
		_, err = a.Store.GiveUp(ctx, m.ID, reason+"; the provider has no such message")
	case m.Channel == domain.ChannelEmail && m.Status == domain.MessageSending:
		_, err = a.Store.MarkAmbiguous(ctx, m.ID, reason+" after the end of data")
	default:
		_, err = a.Store.GiveUp(ctx, m.ID, reason)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil // settled meanwhile
	}
	return err
}

func orQueued(status string) string {
	if status == "" {
		return domain.MessageQueued
	}
	return status
}

func errorCode(code int) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprint(code)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// logger is the activity's logger, or a discarding one outside an
// activity (direct calls in tests).
func logger(ctx context.Context) interface {
	Info(string, ...any)
	Warn(string, ...any)
} {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return nopLogger{}
}

type nopLogger struct{}

func (nopLogger) Info(string, ...any) {}
func (nopLogger) Warn(string, ...any) {}
