// Package domain holds dangol's words: the channels a customer is reached
// on, the statuses of enrolments, messages and call tasks, and the
// outcomes they end with. They are stored in PostgreSQL, carried in
// workflow inputs and histories, shown by the API and counted by the
// report, so they live here, owned by none of those, and never change
// spelling (a committed history or a stored row still says them).
package domain

// Channels a customer can consent to.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
	ChannelCall  = "call"
	// ChannelNight is the Korean night-time advertising consent
	// (21:00-08:00), given separately from a channel's; it is no channel
	// to send on.
	ChannelNight = "night"
)

// Enrolment statuses.
const (
	EnrolmentPending = "pending" // stored, workflow start not yet confirmed
	EnrolmentActive  = "active"
	EnrolmentEnded   = "ended"
)

// Outcomes an enrolment ends with: those of every program, then those of
// the retention programs.
const (
	OutcomeCompleted = "completed"
	OutcomeStopped   = "stopped"
	OutcomeOptedOut  = "opted_out"
	// OutcomeErased: the customer's personal data was removed.
	OutcomeErased = "erased"
	// OutcomeConverted ends an enrolment whose customer came back.
	OutcomeConverted = "converted"
	// OutcomeExpired ends an enrolment whose coupon expired unused.
	OutcomeExpired = "expired"
	// OutcomeDormant ends a wake-up cadence the customer did not answer;
	// the customer is marked dormant.
	OutcomeDormant = "dormant"
	// OutcomeNoBirthday ends a birthday enrolment whose customer removed
	// their birthday (or never had a valid one).
	OutcomeNoBirthday = "no_birthday"
)

// Message statuses. pending and sending are ours; queued, sent, delivered,
// undelivered and failed are the provider's; suppressed means a rule (no
// consent, no address) kept the message from being sent; ambiguous means a
// mail's SMTP exchange was cut after the message could have been taken,
// so nobody knows whether it went out (it is not sent again).
const (
	MessagePending     = "pending"
	MessageSending     = "sending"
	MessageAccepted    = "accepted"
	MessageQueued      = "queued"
	MessageAmbiguous   = "ambiguous"
	MessageSent        = "sent"
	MessageDelivered   = "delivered"
	MessageUndelivered = "undelivered"
	MessageFailed      = "failed"
	MessageSuppressed  = "suppressed"
	// MessageHeld: a rule holds the message until NotBefore (quiet hours,
	// the frequency cap); nothing was sent, and the workflow asks again
	// then. Not in flight: the reconcile job leaves it alone.
	MessageHeld = "held"
)

// Call task kinds, the roles they are for, statuses and outcomes.
const (
	TaskHappyCall  = "happy_call"
	TaskEscalation = "escalation"

	RoleStaff        = "staff"
	RoleStoreManager = "store_manager"

	TaskOpen      = "open"
	TaskCompleted = "completed"
	TaskExpired   = "expired"
	TaskCancelled = "cancelled"

	OutcomeReached   = "reached"
	OutcomeNoAnswer  = "no_answer"
	OutcomeComplaint = "complaint"
)
