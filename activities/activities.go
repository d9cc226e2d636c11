// Package activities holds every side effect dangol's workflows have:
// sending messages, creating call tasks, and recording enrolment state.
// Each is idempotent on a business key, so Temporal may retry it freely.
package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/store"
)

// Activities carries the clients activities use; the worker registers one
// value, and workflows refer to its methods through a nil pointer so calls
// are type-checked.
type Activities struct {
	Store *store.Store
	SMS   sms.Sender
	Mail  mail.Sender
	// StatusCallbackURL is where the SMS provider reports delivery.
	StatusCallbackURL string
	// PublicBaseURL is where customers reach dangol (survey links).
	PublicBaseURL string
	// LinkSecret signs the links in messages (unsubscribe); see links.
	LinkSecret []byte
	// Temporal and TaskQueue start enrolment workflows for sweeps.
	Temporal  client.Client
	TaskQueue string
}

// Error types workflows may see. They are non-retryable: the failure is
// recorded and retrying cannot change it.
const (
	ErrTypeInvalidRecipient = "InvalidRecipient"
	ErrTypeBadTemplate      = "BadTemplate"
	ErrTypeNotFound         = "NotFound"
	// ErrTypeRetryBudget: a message's last attempt failed; the message is
	// recorded failed (or ambiguous) with the reason.
	ErrTypeRetryBudget = "RetryBudgetExhausted"
	ErrTypeBadConfig   = "BadConfig"
)

// ErrTypeProviderBusy is retryable: the provider asked to be called again
// later (Retry-After), and the error's NextRetryDelay is that wait.
const ErrTypeProviderBusy = "ProviderBusy"

func nonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}

// storeErr keeps a missing row from being retried for a day.
func storeErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return nonRetryable(ErrTypeNotFound, fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// MarkEnrolmentActive records that an enrolment's workflow has started.
func (a *Activities) MarkEnrolmentActive(ctx context.Context, enrolmentID int64) error {
	return storeErr("mark enrolment active", a.Store.MarkEnrolmentActive(ctx, enrolmentID))
}

// EndEnrolment records how an enrolment ended.
func (a *Activities) EndEnrolment(ctx context.Context, enrolmentID int64, outcome string) error {
	kind, ended, err := a.Store.EndEnrolmentOfKind(ctx, enrolmentID, outcome)
	if ended {
		metrics.EnrolmentEnded(kind, outcome)
	}
	return storeErr("end enrolment", err)
}

// FinishEnrolment is the end of a lean run (workflows' lean-enrolment
// change) in one statement: the enrolment's open call tasks cancelled and
// its outcome recorded, as CancelOpenTasks and EndEnrolment did in two
// activities. Retried, it keeps the first outcome and counts the ending
// once.
func (a *Activities) FinishEnrolment(ctx context.Context, enrolmentID int64, outcome string) error {
	kind, ended, err := a.Store.FinishEnrolment(ctx, enrolmentID, outcome)
	if ended {
		metrics.EnrolmentEnded(kind, outcome)
	}
	return storeErr("finish enrolment", err)
}

// Gate is the database's view of whether a touch may go ahead. Signals
// carry pause, stop, opt-out and conversion quickly; the gate is the truth
// if a signal was lost.
type Gate struct {
	ProgramStatus string
	OptedOut      bool
	// Purchased and Redeemed: the customer bought (a purchase other than
	// the one that enrolled them) or used this enrolment's coupon since the
	// enrolment started. Absent from gates recorded before they existed.
	Purchased bool `json:",omitempty"`
	Redeemed  bool `json:",omitempty"`
	// Erased: the customer's personal data was removed; the enrolment
	// ends. Absent from gates recorded before erasure existed.
	Erased bool `json:",omitempty"`
}

// Converted reports whether the customer came back since the enrolment
// started.
func (g Gate) Converted() bool { return g.Purchased || g.Redeemed }

// CheckGate reads the program's status, the customer's consent and, when
// enrolmentID is given, whether the customer came back since the
// enrolment started. A task scheduled by a worker that passed only two
// arguments decodes enrolmentID as 0 and gets the old answer.
func (a *Activities) CheckGate(ctx context.Context, programID, customerID, enrolmentID int64) (Gate, error) {
	p, err := a.Store.Program(ctx, programID)
	if err != nil {
		return Gate{}, storeErr("program", err)
	}
	c, err := a.Store.CustomerByID(ctx, customerID)
	if err != nil {
		return Gate{}, storeErr("customer", err)
	}
	g := Gate{ProgramStatus: p.Status, OptedOut: c.OptedOut(), Erased: c.ErasedAt != nil}
	if enrolmentID != 0 {
		conv, err := a.Store.EnrolmentConversion(ctx, enrolmentID)
		if err != nil {
			return Gate{}, storeErr("enrolment conversion", err)
		}
		g.Purchased, g.Redeemed = conv.Purchased, conv.Redeemed
	}
	return g, nil
}
