// Package enrol starts enrolment workflows: it owns their names, ids,
// inputs and start options, so the API (purchases) and the sweep activity
// (audiences) start them the same way. The workflows package aliases these
// input types; they live here because activities cannot import workflows.
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
}

// HappyCallInput starts one 3.1.3.1 follow-up for one purchase. It holds
// ids and the pinned steps only; names, numbers and message texts are read
// by activities when they are needed.
type HappyCallInput struct {
	Enrolment
	PurchaseID  int64
	PurchasedAt time.Time
	Steps       []programs.Step
	CallWindow  programs.Offset
}

// WelcomeBackInput starts one lapsed customer's welcome-back. The params
// are pinned at enrolment; message texts are read when they are sent.
type WelcomeBackInput struct {
	Enrolment
	Params programs.WelcomeBack
}

// DormantWakeupInput starts one long-lapsed customer's wake-up cadence.
type DormantWakeupInput struct {
	Enrolment
	Params programs.DormantWakeup
}

// BirthdayInput is one year of a customer's birthday enrolment.
type BirthdayInput struct {
	Enrolment
	Params programs.Birthday
	Month  time.Month
	Day    int
	// Year is the birthday this run works towards; 0 means the next one to
	// come.
	Year int
}

// SecondPurchaseInput starts the second-purchase program of a first-time
// buyer.
type SecondPurchaseInput struct {
	Enrolment
	// PurchaseID is the first purchase: the messages name its store.
	PurchaseID int64
	Params     programs.SecondPurchase
}
