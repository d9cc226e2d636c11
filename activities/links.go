package activities

import (
	"errors"
	"strings"
	"time"

	"github.com/dangol/dangol/links"
)

// UnsubscribeURL is the link a marketing message carries for withdrawing
// the customer's advertising consent on channel (sms or email): PUBLIC
// base URL + /u/ + a signed token naming only the customer's id, valid for
// links.DefaultLifetime. A missing secret or an unknown channel is a
// configuration error, never retried.
func (a *Activities) UnsubscribeURL(customerID int64, channel string) (string, error) {
	if len(a.LinkSecret) < links.MinSecretLen {
		return "", nonRetryable(ErrTypeBadConfig, errors.New("unsubscribe link: "+links.ErrSecret.Error()))
	}
	if a.PublicBaseURL == "" {
		return "", nonRetryable(ErrTypeBadConfig, errors.New("unsubscribe link: PUBLIC_BASE_URL is not set"))
	}
	c := links.Claims{CustomerID: customerID, Channel: channel, Purpose: links.PurposeMarketing, Expires: time.Now().Add(links.DefaultLifetime)}
	if err := c.Validate(); err != nil {
		return "", nonRetryable(ErrTypeBadConfig, err)
	}
	return strings.TrimRight(a.PublicBaseURL, "/") + "/u/" + links.Sign(a.LinkSecret, c), nil
}
