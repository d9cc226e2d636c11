// Package enrol owns how an enrolment's workflow starts: its name, id,
// input (the pinned plan) and start options, so the API (purchases) and
// the sweep activity (audiences) start enrolments the same way (For,
// Start). The workflows package aliases these input types; they live here
// because activities cannot import workflows.
package enrol

import (
	"time"

	"github.com/dangol/dangol/programs"
)

// Enrolment identifies one customer's run through a program. Every
// program's workflow input embeds it; JSON flattens it, so inputs stay
// flat.
type Enrolment struct {
	ProgramID      int64
	ProgramVersion int
	EnrolmentID    int64
	CustomerID     int64
	// TimeZone is the customer's IANA zone: calendar offsets count in it.
	TimeZone string
	// StarterMarksActive: whoever started the workflow (For's callers:
	// the sweep's page, the purchase) marks the enrolment active in its
	// own batch, so a run with the lean-enrolment change does not. False
	// in inputs of older starters: such a run marks it itself.
	StarterMarksActive bool `json:",omitempty"`
}

// Inputs hold ids and the pinned plan only: message texts, audiences,
// names and numbers are read by activities when they are needed, so no
// personal data or text enters a workflow history.

// HappyCallInput starts one 3.1.3.1 follow-up for one purchase.
type HappyCallInput struct {
	Enrolment
	PurchaseID  int64
	PurchasedAt time.Time
	Steps       []programs.Step
	CallWindow  programs.Offset
	// Timing is nil in inputs written before it existed; the workflow then
	// derives it from Steps and CallWindow (LegacyHappyCallTiming).
	Timing   *Timing   `json:",omitempty"`
	Progress *Progress `json:",omitempty"`
}

// WelcomeBackInput starts one lapsed customer's welcome-back.
type WelcomeBackInput struct {
	Enrolment
	Plan *WelcomeBackPlan `json:",omitempty"`
	// LegacyParams is what inputs written before plans were pinned
	// carry instead of Plan (the program's parameters, read through a type
	// that drops their texts); read only when Plan is nil.
	LegacyParams *LegacyWelcomeBack `json:"Params,omitempty"`
	Progress     *Progress          `json:",omitempty"`
}

// DormantWakeupInput starts one long-lapsed customer's wake-up cadence.
type DormantWakeupInput struct {
	Enrolment
	Plan *DormantWakeupPlan `json:",omitempty"`
	// LegacyParams: see WelcomeBackInput.
	LegacyParams *LegacyDormantWakeup `json:"Params,omitempty"`
	Progress     *Progress            `json:",omitempty"`
}

// BirthdayInput is one year of a customer's birthday enrolment.
type BirthdayInput struct {
	Enrolment
	Plan *BirthdayPlan `json:",omitempty"`
	// LegacyParams: see WelcomeBackInput.
	LegacyParams *LegacyBirthday `json:"Params,omitempty"`
	Month        time.Month
	Day          int
	// Year is the birthday this run works towards; 0 means the next one to
	// come.
	Year     int
	Progress *Progress `json:",omitempty"`
}

// SecondPurchaseInput starts the second-purchase program of a first-time
// buyer.
type SecondPurchaseInput struct {
	Enrolment
	// PurchaseID is the first purchase: the messages name its store.
	PurchaseID int64
	Plan       *SecondPurchasePlan `json:",omitempty"`
	// LegacyParams: see WelcomeBackInput.
	LegacyParams *LegacySecondPurchase `json:"Params,omitempty"`
	Progress     *Progress             `json:",omitempty"`
}

// Progress is where an enrolment stood when its run continued as new in
// the middle (a long pause keeps its history small that way); the next
// run picks up there. Nil for a new enrolment.
type Progress struct {
	// Started is when the enrolment's first run started: offsets count
	// from it.
	Started time.Time
	// Next is the index of the step to do next; the ones before are done.
	Next int
	// Stage is how far step Next got: "" not begun; for the happy call
	// StageFallback (the call window closed unanswered, the fallback SMS
	// is due at StageAt); for the birthday, the year's card state.
	Stage   string    `json:",omitempty"`
	StageAt time.Time `json:",omitempty"`
	// CouponID and CouponExpires are the coupon issued on the way, if any.
	CouponID      int64     `json:",omitempty"`
	CouponExpires time.Time `json:",omitempty"`
	// LastSent is when the enrolment's last message went and LastPlanned
	// the moment it was planned for (MinSpacing counts from them).
	LastSent    time.Time `json:",omitempty"`
	LastPlanned time.Time `json:",omitempty"`
}

// StageFallback: the happy call's step Next waits to send its fallback SMS.
const StageFallback = "fallback"
