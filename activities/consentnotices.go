package activities

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/dangol/dangol/store"
)

// ConsentNotice is one notice the consent-notices job sends: ids, a date
// and a channel only; its text is written at send time (BuiltinConsent*).
type ConsentNotice struct {
	Kind       string // store.NoticeReconfirm or store.NoticeChange
	CustomerID int64
	DueOn      string `json:",omitempty"` // reconfirm: YYYY-MM-DD
	EventID    int64  `json:",omitempty"` // change: the consent_events row
	Channel    string
}

// Key is the notice's message idempotency key: one message per
// reconfirmation cycle of a customer, one per consent change.
func (n ConsentNotice) Key() string {
	if n.Kind == store.NoticeChange {
		return "consent-notice:change:" + strconv.FormatInt(n.EventID, 10)
	}
	return fmt.Sprintf("consent-notice:reconfirm:%d:%s", n.CustomerID, n.DueOn)
}

// SendRequest is the message that carries the notice.
func (n ConsentNotice) SendRequest() SendRequest {
	ref := TemplateRef{Builtin: BuiltinConsentReconfirm}
	if n.Kind == store.NoticeChange {
		ref = TemplateRef{Builtin: BuiltinConsentChange, Ref: n.EventID}
	}
	return SendRequest{Key: n.Key(), Channel: n.Channel, CustomerID: n.CustomerID, Template: ref}
}

// ConsentNoticePageRequest asks for the next page of notices of a kind,
// keyset on customer id (reconfirm) or consent event id (change).
type ConsentNoticePageRequest struct {
	Kind  string
	After int64
	Limit int
}

// ConsentNoticePage is one page of notices to send.
type ConsentNoticePage struct {
	Notices   []ConsentNotice
	NextAfter int64
	Done      bool
}

// ConsentNoticePage lists the notices not sent yet, one page: customers
// whose reconfirmation notice of the current cycle fell due (from their
// consent in customers.consent and the settings' period), or consent
// changes made on a customer's behalf.
func (a *Activities) ConsentNoticePage(ctx context.Context, req ConsentNoticePageRequest) (ConsentNoticePage, error) {
	if req.Limit < 1 || req.Limit > store.MaxConsentsDueLimit {
		return ConsentNoticePage{}, nonRetryable(ErrTypeBadConfig, fmt.Errorf("page limit %d: must be 1-%d", req.Limit, store.MaxConsentsDueLimit))
	}
	var page ConsentNoticePage
	switch req.Kind {
	case store.NoticeReconfirm:
		set, err := a.settings(ctx)
		if err != nil {
			return page, fmt.Errorf("settings: %w", err)
		}
		due, err := a.Store.ConsentsDue(ctx, store.ConsentsDueQuery{
			Now: time.Now(), PeriodDays: set.ReconfirmEveryDays, Status: store.NoticeStatusDue,
			AfterCustomerID: req.After, Limit: req.Limit,
		})
		if err != nil {
			return page, fmt.Errorf("consents due: %w", err)
		}
		for _, d := range due {
			page.Notices = append(page.Notices, ConsentNotice{Kind: store.NoticeReconfirm, CustomerID: d.CustomerID, DueOn: d.DueOn, Channel: d.NoticeChannel})
			page.NextAfter = d.CustomerID
		}
		page.Done = len(due) < req.Limit
	case store.NoticeChange:
		changes, err := a.Store.PendingChangeNotices(ctx, req.After, req.Limit)
		if err != nil {
			return page, fmt.Errorf("consent changes: %w", err)
		}
		for _, c := range changes {
			page.Notices = append(page.Notices, ConsentNotice{Kind: store.NoticeChange, CustomerID: c.CustomerID, EventID: c.EventID, Channel: c.Channel})
			page.NextAfter = c.EventID
		}
		page.Done = len(changes) < req.Limit
	default:
		return page, nonRetryable(ErrTypeBadConfig, fmt.Errorf("notice kind %q", req.Kind))
	}
	return page, nil
}

// RecordConsentNotices records the page's notices after their sends
// ended, each linked to the message made under its key (none: the notice
// counts as undelivered). Recording twice changes nothing.
func (a *Activities) RecordConsentNotices(ctx context.Context, notices []ConsentNotice) error {
	for _, n := range notices {
		err := a.Store.RecordConsentNotice(ctx, store.ConsentNotice{
			CustomerID: n.CustomerID, Kind: n.Kind, DueOn: n.DueOn, EventID: n.EventID, Channel: n.Channel, MessageKey: n.Key(),
		})
		if err != nil {
			return storeErr("record consent notice", err)
		}
	}
	return nil
}
