package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/store"
)

// SendRequest is one message a workflow wants sent. It carries ids only:
// recipient and text are looked up here, so workflow histories hold no
// personal data and an erased customer's data is gone from every retry.
type SendRequest struct {
	// Key is the business idempotency key (program, purchase, touch,
	// channel). A second request with the same key sends nothing.
	Key         string
	Channel     string // store.ChannelSMS or store.ChannelEmail
	EnrolmentID int64
	CustomerID  int64
	PurchaseID  int64
	// CouponID, when set, fills the coupon fields of the template.
	CouponID int64
	// Survey, when set, adds a survey link for this enrolment and step.
	Survey   bool
	Template TemplateRef
}

// SendResult says what became of the message.
type SendResult struct {
	MessageID int64
	Status    string
	// Reason explains a suppressed or failed message.
	Reason string
}

// SendMessage is the one path every message takes: render, check the
// rules that may hold it back, record it under its key, hand it to the
// provider, record the provider's answer. Consent, quiet hours and
// frequency caps belong here so no program can bypass them.
//
// Exactly-once: the row is claimed under the key before the provider is
// called and marked "sending" just before. A retry that finds "sending"
// cannot know whether the provider got the message (the process may have
// died in between), so for SMS it asks the provider before sending again.
func (a *Activities) SendMessage(ctx context.Context, req SendRequest) (SendResult, error) {
	if prev, err := a.Store.MessageByKey(ctx, req.Key); err == nil && prev.Status != store.MessagePending && prev.Status != store.MessageSending {
		return resultOf(prev), nil
	}
	customer, err := a.Store.CustomerByID(ctx, req.CustomerID)
	if err != nil {
		return SendResult{}, storeErr("customer", err)
	}
	x := extras{purchaseID: req.PurchaseID, couponID: req.CouponID}
	if req.Survey {
		if x.surveyURL, err = a.surveyURL(ctx, req.EnrolmentID, req.CustomerID, req.Template.Step); err != nil {
			return SendResult{}, err
		}
	}
	text, err := a.render(ctx, req.Template, req.Channel, req.CustomerID, x)
	if err != nil {
		return SendResult{}, err
	}
	recipient := ""
	switch req.Channel {
	case store.ChannelSMS:
		recipient = deref(customer.Phone)
	case store.ChannelEmail:
		recipient = deref(customer.Email)
	default:
		return SendResult{}, nonRetryable(ErrTypeInvalidRecipient, fmt.Errorf("unknown channel %q", req.Channel))
	}
	var enrolment *int64
	if req.EnrolmentID != 0 {
		enrolment = &req.EnrolmentID
	}
	msg, err := a.Store.ClaimMessage(ctx, store.Message{
		IdempotencyKey: req.Key, EnrolmentID: enrolment, CustomerID: req.CustomerID,
		Channel: req.Channel, Recipient: recipient, Subject: text.subject, Body: text.body,
	})
	if err != nil {
		return SendResult{}, storeErr("claim message", err)
	}
	switch msg.Status {
	case store.MessagePending, store.MessageSending:
	default:
		return resultOf(msg), nil
	}
	if reason := suppression(customer, req.Channel, msg.Recipient); reason != "" {
		msg, err = a.Store.MarkFinal(ctx, msg.ID, store.MessageSuppressed, "suppressed", reason)
		if err != nil {
			return SendResult{}, storeErr("suppress message", err)
		}
		return resultOf(msg), nil
	}
	wasSending := msg.Status == store.MessageSending
	msg, err = a.Store.MarkSending(ctx, msg.ID)
	if err != nil {
		return SendResult{}, storeErr("mark sending", err)
	}
	if req.Channel == store.ChannelSMS {
		return a.sendSMS(ctx, msg, wasSending)
	}
	return a.sendMail(ctx, msg)
}

// suppression returns why the message must not go out, or "".
func suppression(c store.Customer, channel, recipient string) string {
	if !c.Consents(channel) {
		return "no " + channel + " consent"
	}
	if recipient == "" {
		return "no " + channel + " address"
	}
	return ""
}

func (a *Activities) sendSMS(ctx context.Context, msg store.Message, maybeSent bool) (SendResult, error) {
	if maybeSent && msg.SendStartedAt != nil {
		found, ok, err := a.SMS.Find(ctx, msg.Recipient, msg.Body, *msg.SendStartedAt)
		if err != nil {
			return SendResult{}, fmt.Errorf("look up earlier attempt: %w", err)
		}
		if ok {
			activity.GetLogger(ctx).Info("earlier attempt reached the provider; not sending again", "message", msg.ID, "sid", found.ProviderID)
			return a.accepted(ctx, msg, found.ProviderID, found.Status)
		}
	}
	receipt, err := a.SMS.Send(ctx, sms.Message{To: msg.Recipient, Body: msg.Body, StatusCallback: a.StatusCallbackURL})
	var pe *sms.ProviderError
	switch {
	case errors.As(err, &pe) && pe.Permanent:
		if _, ferr := a.Store.MarkFinal(ctx, msg.ID, store.MessageFailed, fmt.Sprint(pe.Code), pe.Message); ferr != nil {
			return SendResult{}, storeErr("mark failed", ferr)
		}
		return SendResult{}, nonRetryable(ErrTypeInvalidRecipient, fmt.Errorf("sms %d: %w", msg.ID, err))
	case err != nil:
		return SendResult{}, fmt.Errorf("sms %d: %w", msg.ID, err)
	}
	return a.accepted(ctx, msg, receipt.ProviderID, receipt.Status)
}

func (a *Activities) accepted(ctx context.Context, msg store.Message, providerID, status string) (SendResult, error) {
	if status == "" {
		status = store.MessageQueued
	}
	m, err := a.Store.MarkAccepted(ctx, msg.ID, providerID, status)
	if err != nil {
		return SendResult{}, storeErr("mark accepted", err)
	}
	return resultOf(m), nil
}

// sendMail cannot ask an SMTP relay whether it took a message before a
// crash, so a resend reuses the same Message-ID and receivers can drop the
// duplicate.
func (a *Activities) sendMail(ctx context.Context, msg store.Message) (SendResult, error) {
	id := fmt.Sprintf("<msg-%d@dangol>", msg.ID)
	err := a.Mail.Send(ctx, mail.Message{To: msg.Recipient, Subject: msg.Subject, TextBody: msg.Body, MessageID: id})
	var pe *mail.PermanentError
	switch {
	case errors.As(err, &pe):
		if _, ferr := a.Store.MarkFinal(ctx, msg.ID, store.MessageFailed, fmt.Sprint(pe.Code), pe.Error()); ferr != nil {
			return SendResult{}, storeErr("mark failed", ferr)
		}
		return SendResult{}, nonRetryable(ErrTypeInvalidRecipient, fmt.Errorf("mail %d: %w", msg.ID, err))
	case err != nil:
		return SendResult{}, fmt.Errorf("mail %d: %w", msg.ID, err)
	}
	return a.accepted(ctx, msg, id, store.MessageSent)
}

func resultOf(m store.Message) SendResult {
	r := SendResult{MessageID: m.ID, Status: m.Status}
	if m.ErrorMessage != nil {
		r.Reason = *m.ErrorMessage
	}
	return r
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
