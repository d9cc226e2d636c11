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
	return a.customerLink("unsubscribe link", "/u/", customerID, channel, links.PurposeMarketing)
}

// PreferencesURL is the link to the customer's preference page (every
// channel's consent, on or off), carried next to the unsubscribe link by a
// message sent on channel: PUBLIC base URL + /p/ + a signed token.
func (a *Activities) PreferencesURL(customerID int64, channel string) (string, error) {
	return a.customerLink("preference link", "/p/", customerID, channel, links.PurposePreferences)
}

func (a *Activities) customerLink(what, path string, customerID int64, channel, purpose string) (string, error) {
	if len(a.LinkSecret) < links.MinSecretLen {
		return "", nonRetryable(ErrTypeBadConfig, errors.New(what+": "+links.ErrSecret.Error()))
	}
	if a.PublicBaseURL == "" {
		return "", nonRetryable(ErrTypeBadConfig, errors.New(what+": PUBLIC_BASE_URL is not set"))
	}
	c := links.Claims{CustomerID: customerID, Channel: channel, Purpose: purpose, Expires: time.Now().Add(links.DefaultLifetime)}
	if err := c.Validate(); err != nil {
		return "", nonRetryable(ErrTypeBadConfig, err)
	}
	return strings.TrimRight(a.PublicBaseURL, "/") + path + links.Sign(a.LinkSecret, c), nil
}
