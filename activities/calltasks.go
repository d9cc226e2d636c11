package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// CallTaskRequest asks for a call by store staff (or, for an escalation,
// by the store manager).
type CallTaskRequest struct {
	Key            string // business key: program, purchase, touch, kind
	Kind           string
	EnrolmentID    int64
	CustomerID     int64
	PurchaseID     int64
	ProgramID      int64
	ProgramVersion int
	TouchKey       string
	DueAt          time.Time
	ExpiresAt      *time.Time
	// EscalatedFrom is the task whose complaint caused this one.
	EscalatedFrom int64
}

// CreateCallTask puts a call on the store's work list; retried, it returns
// the task it created the first time.
//
// A customer without call consent (or without a number) gets no call: it
// returns 0 and the workflow sends the step's fallback SMS instead.
func (a *Activities) CreateCallTask(ctx context.Context, req CallTaskRequest) (int64, error) {
	customer, err := a.Store.CustomerByID(ctx, req.CustomerID)
	if err != nil {
		return 0, storeErr("customer", err)
	}
	if ok, reason := callAllowed(customer); !ok {
		activity.GetLogger(ctx).Info("call task not created", "key", req.Key, "reason", reason)
		return 0, nil
	}
	purchase, err := a.Store.PurchaseByID(ctx, req.PurchaseID)
	if err != nil {
		return 0, storeErr("purchase", err)
	}
	t := store.CallTask{
		IdempotencyKey: req.Key,
		Kind:           req.Kind,
		CustomerID:     req.CustomerID,
		EnrolmentID:    &req.EnrolmentID,
		Store:          purchase.Store,
		AssigneeRole:   domain.RoleStaff,
		DueAt:          req.DueAt,
		ExpiresAt:      req.ExpiresAt,
	}
	if req.Kind == domain.TaskEscalation {
		t.AssigneeRole = domain.RoleStoreManager
		t.Script = fmt.Sprintf("고객 불만 접수 (콜 #%d). 통화 메모를 확인하고 점장이 직접 연락해 주세요.", req.EscalatedFrom)
		if prev, err := a.Store.CallTask(ctx, req.EscalatedFrom); err == nil && prev.Note != "" {
			t.Script += "\n메모: " + prev.Note
		}
	} else {
		msg, err := a.render(ctx, TemplateRef{ProgramID: req.ProgramID, Version: req.ProgramVersion, Step: req.TouchKey, Field: FieldCallScript}, domain.ChannelCall, req.CustomerID, extras{purchaseID: req.PurchaseID})
		if err != nil {
			return 0, err
		}
		t.Script = msg.body
	}
	created, err := a.Store.CreateCallTask(ctx, t)
	if err != nil {
		return 0, storeErr("create call task", err)
	}
	return created.ID, nil
}

// CallTaskState is what became of a call task.
type CallTaskState struct {
	Status  string
	Outcome string
}

// CloseCallTask expires an unanswered task when its window ends. If staff
// completed it in the meantime (and the signal was lost), that completion
// is returned instead.
func (a *Activities) CloseCallTask(ctx context.Context, taskID int64) (CallTaskState, error) {
	t, err := a.Store.CloseCallTask(ctx, taskID, domain.TaskExpired)
	if err != nil {
		return CallTaskState{}, storeErr("close call task", err)
	}
	st := CallTaskState{Status: t.Status}
	if t.Outcome != nil {
		st.Outcome = *t.Outcome
	}
	return st, nil
}

// RecordCallVoice keeps the note of a reached call as voice of the customer.
func (a *Activities) RecordCallVoice(ctx context.Context, taskID int64) error {
	t, err := a.Store.CallTask(ctx, taskID)
	if err != nil {
		return storeErr("call task", err)
	}
	if t.Note == "" {
		return nil
	}
	return storeErr("record voice", a.Store.RecordVoice(ctx, t.CustomerID, "call_task", fmt.Sprintf("call_task:%d", t.ID), t.Note))
}

// CancelOpenTasks cancels an ended enrolment's open call tasks, except
// escalations, which stay on the store manager's list.
func (a *Activities) CancelOpenTasks(ctx context.Context, enrolmentID int64) (int64, error) {
	n, err := a.Store.CancelOpenTasks(ctx, enrolmentID)
	return n, storeErr("cancel tasks", err)
}
