// Package sms sends text messages through an SMS provider (Twilio).
package sms

import (
	"context"
	"fmt"
	"time"
)

// Message is one SMS to send.
type Message struct {
	To             string // E.164
	Body           string
	StatusCallback string // URL the provider posts delivery updates to; may be empty
}

// Receipt is the provider's acknowledgement of a message.
type Receipt struct {
	ProviderID string // Twilio's message SID
	Status     string // provider status at the time, e.g. "queued"
}

// ProviderError is an error answered by the provider. Permanent means
// retrying cannot help (invalid number, unsubscribed recipient, auth...):
// callers record it and do not retry.
type ProviderError struct {
	HTTPStatus int
	Code       int
	Message    string
	Permanent  bool
}

func (e *ProviderError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("sms provider: HTTP %d, error %d: %s (%s)", e.HTTPStatus, e.Code, e.Message, kind)
}

// Sender sends SMS.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
	// Find looks for a message the provider already accepted for this
	// recipient and body, created at or after since. A send that may have
	// reached the provider before a crash is looked up with Find before it
	// is sent again, so a retry never sends twice.
	Find(ctx context.Context, to, body string, since time.Time) (Receipt, bool, error)
}
