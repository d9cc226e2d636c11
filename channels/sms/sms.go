// Package sms sends text messages through an SMS provider (Twilio).
package sms

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Message is one SMS to send.
type Message struct {
	To             string // E.164
	Body           string
	StatusCallback string // URL the provider posts delivery updates to; may be empty
}

// Receipt is the provider's acknowledgement of a message, or what it says
// about the message when asked later.
type Receipt struct {
	ProviderID string // Twilio's message SID
	Status     string // provider status at the time, e.g. "queued"
	// ErrorCode and ErrorMessage explain an undelivered or failed message
	// (Fetch only); ErrorCode 0 means none.
	ErrorCode    int
	ErrorMessage string
}

// ProviderError is an error answered by the provider. Permanent means
// retrying cannot help (invalid number, unsubscribed recipient, auth...):
// callers record it and do not retry.
//
// Code and Message are what the provider's error body says; a body the
// client could not read into them (another JSON shape, a proxy's HTML page)
// leaves Code 0, so Body keeps the start of the raw answer. Message and
// Body have the recipient's number removed: they end up in the database and
// in workflow histories.
type ProviderError struct {
	HTTPStatus int
	Code       int
	Message    string
	Body       string
	Permanent  bool
	// RetryAfter is how long the provider asked us to wait before calling
	// again (a 429 or 503 with Retry-After), 0 when it did not say. The
	// sender itself calls the provider no sooner (see Twilio); a caller
	// that schedules its own retry should wait at least this long.
	RetryAfter time.Duration
}

func (e *ProviderError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("sms provider: HTTP %d, error %d: %s (%s)", e.HTTPStatus, e.Code, e.Reason(), kind)
}

// ErrorCode is the code to record: the provider's, or "http_<status>" when
// it gave none.
func (e *ProviderError) ErrorCode() string {
	if e.Code != 0 {
		return strconv.Itoa(e.Code)
	}
	return "http_" + strconv.Itoa(e.HTTPStatus)
}

// Reason is the explanation to record: the provider's message, else its
// raw answer, else the HTTP status text.
func (e *ProviderError) Reason() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Body != "":
		return e.Body
	default:
		return "HTTP " + strconv.Itoa(e.HTTPStatus) + " " + http.StatusText(e.HTTPStatus) + " without a body"
	}
}

// Sender sends SMS.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
	// Find looks for a message the provider already accepted for this
	// recipient and body, created at or after since. A send that may have
	// reached the provider before a crash is looked up with Find before it
	// is sent again, so a retry never sends twice.
	Find(ctx context.Context, to, body string, since time.Time) (Receipt, bool, error)
	// Fetch asks the provider for a message's current status, for
	// messages whose status callbacks were lost.
	Fetch(ctx context.Context, providerID string) (Receipt, error)
}
