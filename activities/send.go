package activities

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// SendRequest is one message a workflow wants sent. It carries ids only:
// recipient and text are looked up here, so workflow histories hold no
// personal data and an erased customer's data is gone from every retry.
type SendRequest struct {
	// Key is the business idempotency key (program, purchase, touch,
	// channel). A second request with the same key sends nothing.
	Key         string
	Channel     string // domain.ChannelSMS or domain.ChannelEmail
	EnrolmentID int64
	CustomerID  int64
	PurchaseID  int64
	// CouponID, when set, fills the coupon fields of the template.
	CouponID int64
	// Survey, when set, adds a survey link for this enrolment and step.
	Survey   bool
	Template TemplateRef
	// Purpose is compliance.PurposeMarketing or PurposeService, from the
	// enrolment's pinned plan. A request scheduled before requests carried
	// it has none: see PurposeOf.
	Purpose string
	// LastTry: the workflow will not wait for this message again, so a
	// rule that would hold it records it suppressed with its reason.
	LastTry bool
}

// PurposeOf is the request's purpose, for a program of the kind: the
// pinned one, or the kind's default for the step when the request has none
// (programs.ResolvePurpose).
func (r SendRequest) PurposeOf(kind string) string {
	return programs.ResolvePurpose(kind, r.Template.Step, r.Purpose)
}

// SendResult says what became of the message.
type SendResult struct {
	MessageID int64
	Status    string
	// Reason explains a suppressed, held or failed message.
	Reason string
	// NotBefore is when a held message may go (Status domain.MessageHeld).
	NotBefore time.Time
}

// SendMessage is the one path every message takes: render, check the
// rules that may hold it back, record it under its key, hand it to the
// provider, record the provider's answer. Consent, quiet hours and
// frequency caps belong here so no program can bypass them.
//
// Exactly-once for SMS: the row is claimed under the key before the
// provider is called and marked "sending" just before. A retry that finds
// "sending" cannot know whether the provider got the message (the process
// may have died in between): the message's status callback carries its id
// and gives it the provider's SID as soon as it arrives; failing that, the
// provider is asked (Find) before sending again.
//
// At most once for mail: SMTP cannot be asked afterwards, so the row is
// marked "sending" only right before the end of data, and an attempt that
// may have delivered it ends "ambiguous" instead of being sent again.
//
// No message outlives its retries in pending or sending: an error no retry
// will follow (non-retryable, or the last attempt of the budget) settles
// the row first.
func (a *Activities) SendMessage(ctx context.Context, req SendRequest) (res SendResult, err error) {
	var claimed store.Message
	defer func() { count(req.Channel, claimed, res) }()
	res, err = a.sendMessage(ctx, req, &claimed)
	if err == nil || claimed.ID == 0 {
		return res, scrub(err, claimed.Recipient)
	}
	var appErr *temporal.ApplicationError
	permanent := errors.As(err, &appErr) && appErr.NonRetryable()
	if !permanent && !lastAttempt(ctx, nextRetryDelay(err)) {
		// Best effort: the retry does not depend on it.
		_ = a.Store.NoteAttemptFailed(ctx, claimed.ID, activityAttempt(ctx), scrub(err, claimed.Recipient).Error())
		return res, scrub(err, claimed.Recipient)
	}
	m, serr := a.settle(ctx, claimed, scrub(err, claimed.Recipient).Error(), errors.Is(err, context.DeadlineExceeded))
	if serr != nil {
		return res, fmt.Errorf("%w (and recording that: %v)", scrub(err, claimed.Recipient), serr)
	}
	if permanent {
		return resultOf(m), scrub(err, claimed.Recipient)
	}
	return resultOf(m), nonRetryable(ErrTypeRetryBudget, fmt.Errorf("message %d: retries exhausted: %w", m.ID, scrub(err, claimed.Recipient)))
}

// count records the message's outcome in dangol_messages_total when this
// attempt moved it (it was open when claimed) to a final or held state;
// an attempt that found it settled, or that will be retried, counts nothing.
func count(channel string, claimed store.Message, res SendResult) {
	if claimed.ID != 0 && open(claimed.Status) && res.Status != "" && res.Status != domain.MessagePending && res.Status != domain.MessageSending {
		metrics.Message(channel, claimed.Purpose, res.Status)
	}
}

// settle ends a message that is still pending or sending after its last
// attempt: a mail that reached the end of data is ambiguous, anything else
// failed (a late status callback can still give an SMS its provider id).
// A last attempt that ran out of time (timedOut) says nothing about the
// provider: the reason an earlier attempt recorded is kept, so the
// operator sees why the message failed, not that the clock ran out.
func (a *Activities) settle(ctx context.Context, msg store.Message, reason string, timedOut bool) (store.Message, error) {
	cur, err := a.Store.MessageByID(ctx, msg.ID)
	if err != nil {
		return cur, err
	}
	if timedOut {
		if earlier := a.lastNotSent(ctx, cur.ID); earlier != "" {
			reason = earlier + " (the last attempt ran out of time: " + reason + ")"
		}
	}
	switch {
	case cur.Status != domain.MessagePending && cur.Status != domain.MessageSending:
		return cur, nil
	case cur.Channel == domain.ChannelEmail && cur.Status == domain.MessageSending:
		return a.Store.MarkAmbiguous(ctx, cur.ID, "last attempt ended after the end of data: "+reason)
	}
	m, err := a.Store.GiveUp(ctx, cur.ID, reason)
	if errors.Is(err, store.ErrNotFound) {
		// Settled meanwhile (a status callback): that answer stands.
		return a.Store.MessageByID(ctx, cur.ID)
	}
	return m, err
}

// activityAttempt is the attempt number of the running activity (1 when
// called outside one, as in tests).
func activityAttempt(ctx context.Context) int32 {
	if !activity.IsActivity(ctx) {
		return 1
	}
	return activity.GetInfo(ctx).Attempt
}

// lastNotSent is the reason the latest earlier attempt recorded for not
// sending the message ("" when none did, or the history cannot be read:
// the caller's own reason stands then).
func (a *Activities) lastNotSent(ctx context.Context, id int64) string {
	events, err := a.Store.MessageEvents(ctx, id)
	if err != nil {
		return ""
	}
	for i := len(events) - 1; i >= 0; i-- {
		for _, k := range []string{"attempt_failed", "not_sent"} {
			if r := events[i].Detail[k]; r != "" {
				return r
			}
		}
	}
	return ""
}

// nextRetryDelay is the wait err asks Temporal for before the next
// attempt (a provider's Retry-After, see retryAfter), 0 for its backoff.
func nextRetryDelay(err error) time.Duration {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.NextRetryDelay()
	}
	return 0
}

// lastAttempt reports whether Temporal will not retry this activity if it
// fails now: its attempts are used up, or the next one would start after
// the schedule-to-close deadline (the server's own rule, with slack). The
// next one starts after wait when the error asks for one, else after the
// retry policy's backoff.
func lastAttempt(ctx context.Context, wait time.Duration) bool {
	if !activity.IsActivity(ctx) {
		return false
	}
	info := activity.GetInfo(ctx)
	rp := info.RetryPolicy
	if rp != nil && rp.MaximumAttempts > 0 && info.Attempt >= rp.MaximumAttempts {
		return true
	}
	if info.ScheduleToCloseTimeout <= 0 {
		return false
	}
	deadline := info.ScheduledTime.Add(info.ScheduleToCloseTimeout)
	if wait <= 0 {
		wait = retryBackoff(rp, info.Attempt)
	}
	return !time.Now().Add(wait + retrySlack).Before(deadline)
}

// retrySlack allows for the server's retry timer firing late (about a
// second on the dev server): an attempt that would start in the last
// moments of the budget is not counted on, which costs a retry at most.
const retrySlack = 2 * time.Second

// retryBackoff is the wait Temporal puts before the attempt after
// attempt, with its defaults for what rp leaves unset.
func retryBackoff(rp *temporal.RetryPolicy, attempt int32) time.Duration {
	initial, coeff, maxWait := time.Second, 2.0, time.Duration(0)
	if rp != nil {
		if rp.InitialInterval > 0 {
			initial = rp.InitialInterval
		}
		if rp.BackoffCoefficient >= 1 {
			coeff = rp.BackoffCoefficient
		}
		maxWait = rp.MaximumInterval
	}
	if maxWait <= 0 {
		maxWait = 100 * initial
	}
	d := float64(initial) * math.Pow(coeff, float64(max(attempt-1, 0)))
	if d > float64(maxWait) || math.IsInf(d, 1) || math.IsNaN(d) {
		return maxWait
	}
	return time.Duration(d)
}

// scrub removes the recipient's address (in every form store.Redact
// knows) from an error before it leaves for a workflow history or a log.
func scrub(err error, recipient string) error {
	if err == nil {
		return err
	}
	msg := store.Redact(err.Error(), recipient)
	if msg == err.Error() {
		return err
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// The cause is dropped (its text has the address); what tells
		// Temporal how to retry is kept.
		return temporal.NewApplicationErrorWithOptions(msg, appErr.Type(), temporal.ApplicationErrorOptions{
			NonRetryable: appErr.NonRetryable(), NextRetryDelay: appErr.NextRetryDelay(), Category: appErr.Category()})
	}
	return errors.New(msg)
}

func (a *Activities) sendMessage(ctx context.Context, req SendRequest, claimed *store.Message) (SendResult, error) {
	d, err := a.load(ctx, req)
	if err != nil {
		return SendResult{}, err
	}
	if prev := d.Message; prev != nil && !open(prev.Status) {
		return resultOf(*prev), nil
	}
	if d.Customer == nil {
		return SendResult{}, storeErr("customer", store.ErrNotFound)
	}
	customer := *d.Customer
	if customer.ErasedAt != nil {
		// Nothing to send to and nothing to record: no row is written, so
		// no text about the customer is made after they were erased.
		return SendResult{Status: domain.MessageSuppressed, Reason: store.ErasedMarker}, nil
	}
	x := extras{purchaseID: req.PurchaseID, couponID: req.CouponID}
	switch {
	case req.Survey && d.SurveyToken != "":
		x.surveyURL = a.surveyLink(d.SurveyToken)
	case req.Survey:
		// The load made no link (the key's message or the customer
		// changed between its statements): make it on its own.
		if x.surveyURL, err = a.surveyURL(ctx, req.EnrolmentID, req.CustomerID, req.Template.Step); err != nil {
			return SendResult{}, err
		}
	}
	var text rendered
	if req.Template.Builtin != "" {
		text, err = a.renderBuiltin(ctx, req.Template, req.Channel, req.CustomerID)
	} else {
		text, err = renderLoaded(req.Template, req.Channel, d, x)
	}
	if err != nil {
		return SendResult{}, err
	}
	recipient := ""
	switch req.Channel {
	case domain.ChannelSMS:
		recipient = deref(customer.Phone)
	case domain.ChannelEmail:
		recipient = deref(customer.Email)
	default:
		return SendResult{}, nonRetryable(ErrTypeInvalidRecipient, fmt.Errorf("unknown channel %q", req.Channel))
	}
	var enrolment *int64
	if req.EnrolmentID != 0 {
		enrolment = &req.EnrolmentID
	}
	p, err := policyFor(ctx, req, d, customer)
	if err != nil {
		return SendResult{}, err
	}
	text, unsubscribe, decorated := a.decorate(p, req.Channel, customer.ID, text)
	draft := store.Message{
		IdempotencyKey: req.Key, EnrolmentID: enrolment, CustomerID: req.CustomerID,
		Channel: req.Channel, Recipient: recipient, Subject: text.subject, Body: text.body, Purpose: p.purpose,
		UnsubscribeURL: unsubscribe,
	}
	if req.Channel == domain.ChannelSMS {
		enc, segments, _ := compliance.Segments(text.body)
		draft.Encoding, draft.Segments = &enc, &segments
	}
	// A message already under the key (an earlier attempt's) was read
	// by the load; the claim is for a new one.
	var msg store.Message
	if d.Message != nil {
		msg = *d.Message
	} else if msg, err = a.Store.ClaimMessage(ctx, draft); err != nil {
		return SendResult{}, storeErr("claim message", err)
	}
	if msg.Status == domain.MessageHeld {
		// Nothing was sent for it: it goes with today's text and rules.
		draft.ID = msg.ID
		if msg, err = a.Store.Unhold(ctx, draft); err != nil {
			return SendResult{}, storeErr("unhold message", err)
		}
	}
	*claimed = msg
	switch msg.Status {
	case domain.MessagePending, domain.MessageSending:
	default:
		return resultOf(msg), nil
	}
	reason := suppression(customer, req.Channel, msg.Recipient, p.purpose == compliance.PurposeMarketing)
	if reason == "" && req.Channel == domain.ChannelSMS {
		invalid, known := d.PhoneInvalid(msg.Recipient)
		if !known {
			if invalid, err = a.Store.PhoneInvalid(ctx, msg.Recipient); err != nil {
				return SendResult{}, storeErr("phone invalid", err)
			}
		}
		if invalid {
			reason = ReasonInvalidPhone
		}
	}
	if reason != "" {
		res, err := a.suppress(ctx, msg, reason)
		if err != nil {
			return SendResult{}, err
		}
		return *res, nil
	}
	var sending *store.Message
	if msg.Status == domain.MessagePending {
		// The rules that may hold it; a message already sending passed
		// them on an earlier attempt and may have reached the provider.
		// An SMS that may go is marked sending with its place under the
		// cap, when it needs one.
		res, marked, err := a.verdict(ctx, p, customer, msg, req.LastTry, decorated, req.Channel == domain.ChannelSMS)
		if err != nil {
			return SendResult{}, err
		}
		if res != nil {
			return *res, nil
		}
		sending = marked
	}
	if req.Channel == domain.ChannelEmail {
		return a.sendMail(ctx, msg)
	}
	wasSending := msg.Status == domain.MessageSending
	if sending == nil {
		m, err := a.Store.MarkSending(ctx, msg.ID)
		if err != nil {
			return SendResult{}, storeErr("mark sending", err)
		}
		sending = &m
	}
	return a.sendSMS(ctx, *sending, wasSending)
}

// load reads what the send of req needs, in one round trip (see
// store.LoadForSend); the survey link is made in it when asked for.
func (a *Activities) load(ctx context.Context, req SendRequest) (store.SendData, error) {
	in := store.SendLoad{Key: req.Key, CustomerID: req.CustomerID, ProgramID: req.Template.ProgramID, Version: req.Template.Version}
	if req.Template.Builtin == "" {
		in.PurchaseID, in.CouponID = req.PurchaseID, req.CouponID
	}
	if req.Survey {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return store.SendData{}, err
		}
		in.Survey = &store.SurveyLinkLoad{EnrolmentID: req.EnrolmentID, Step: req.Template.Step, NewToken: base64.RawURLEncoding.EncodeToString(b)}
	}
	d, err := a.Store.LoadForSend(ctx, in)
	if err != nil {
		return d, storeErr("load", err)
	}
	return d, nil
}

// surveyLink is the survey link of a token (as surveyURL makes it).
func (a *Activities) surveyLink(token string) string {
	return strings.TrimRight(a.PublicBaseURL, "/") + "/s/" + token
}

// open reports whether a message may still be sent: nothing final has
// happened to it.
func open(status string) bool {
	return status == domain.MessagePending || status == domain.MessageSending || status == domain.MessageHeld
}

// suppression returns why the message must not go out, or "". Advertising
// needs the channel's consent; a service message (a thank-you, a legal
// notice) needs only an address: it must reach a customer who withdrew
// advertising consent.
func suppression(c store.Customer, channel, recipient string, needsConsent bool) string {
	if needsConsent && !c.Consents(channel) {
		return compliance.ReasonNoConsent + ": " + channel
	}
	if recipient == "" {
		return "no " + channel + " address"
	}
	return ""
}

func (a *Activities) sendSMS(ctx context.Context, msg store.Message, maybeSent bool) (SendResult, error) {
	if maybeSent && msg.SendStartedAt != nil {
		// No status callback has named this message yet (it would have
		// settled it), so ask the provider by recipient and text.
		found, ok, err := a.SMS.Find(ctx, msg.Recipient, msg.Body, *msg.SendStartedAt)
		if err != nil {
			return SendResult{}, retryAfter(fmt.Errorf("look up earlier attempt: %w", err))
		}
		if ok {
			logger(ctx).Info("earlier attempt reached the provider; not sending again", "message", msg.ID, "sid", found.ProviderID)
			return a.accepted(ctx, msg, found.ProviderID, found.Status)
		}
	}
	callback, err := a.statusCallback(msg.ID)
	if err != nil {
		return SendResult{}, nonRetryable(ErrTypeBadConfig, err)
	}
	receipt, err := a.SMS.Send(ctx, sms.Message{To: msg.Recipient, Body: msg.Body, StatusCallback: callback})
	var pe *sms.ProviderError
	switch {
	case errors.As(err, &pe) && pe.Permanent:
		if rerr := a.providerRefused(ctx, msg.Recipient, pe.Code); rerr != nil {
			return SendResult{}, rerr
		}
		if _, ferr := a.Store.MarkFinal(ctx, msg.ID, domain.MessageFailed, pe.ErrorCode(), store.Redact(pe.Reason(), msg.Recipient)); ferr != nil {
			return SendResult{}, storeErr("mark failed", ferr)
		}
		return SendResult{}, nonRetryable(ErrTypeInvalidRecipient, fmt.Errorf("sms %d: %w", msg.ID, err))
	case err != nil:
		return SendResult{}, retryAfter(fmt.Errorf("sms %d: %w", msg.ID, err))
	}
	return a.accepted(ctx, msg, receipt.ProviderID, receipt.Status)
}

// retryAfter makes a provider's Retry-After the wait before Temporal's
// next attempt (NextRetryDelay): its own backoff (1 s, 2 s, ...) would
// bring the retry back early, only to be refused again. Errors without a
// Retry-After are returned as they are.
func retryAfter(err error) error {
	var pe *sms.ProviderError
	if !errors.As(err, &pe) || pe.Permanent || pe.RetryAfter <= 0 {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeProviderBusy,
		temporal.ApplicationErrorOptions{NextRetryDelay: pe.RetryAfter, Cause: err})
}

// statusCallback is the message's own status callback URL: it carries
// dangol's message id, so a report can be matched to the message even if
// its provider SID was never recorded. The provider signs the whole URL,
// query included, with the auth token, so the id cannot be forged.
func (a *Activities) statusCallback(id int64) (string, error) {
	if a.StatusCallbackURL == "" {
		return "", nil
	}
	u, err := url.Parse(a.StatusCallbackURL)
	if err != nil {
		return "", fmt.Errorf("status callback URL: %w", err)
	}
	q := u.Query()
	q.Set(StatusCallbackParam, strconv.FormatInt(id, 10))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// StatusCallbackParam is the query parameter of a status callback URL that
// names dangol's message.
const StatusCallbackParam = "m"

func (a *Activities) accepted(ctx context.Context, msg store.Message, providerID, status string) (SendResult, error) {
	if status == "" {
		status = domain.MessageQueued
	}
	m, err := a.Store.MarkAccepted(ctx, msg.ID, providerID, status)
	if err != nil {
		return SendResult{}, storeErr("mark accepted", err)
	}
	return resultOf(m), nil
}

// sendMail sends a mail at most once past the end of data. The row turns
// "sending" only right before the end-of-data marker (after connecting,
// MAIL FROM, RCPT TO and the text were accepted), so the window in which
// a crash leaves the outcome unknown is the relay's last answer. A mail
// found "sending" (an attempt died in that window) or whose answer was
// lost is recorded ambiguous and not sent again: a duplicate mail is worse
// for a retention program than a missing one, and the journey shows it.
// The Message-ID is the same on every attempt anyway.
func (a *Activities) sendMail(ctx context.Context, msg store.Message) (SendResult, error) {
	if msg.Status == domain.MessageSending {
		m, err := a.Store.MarkAmbiguous(ctx, msg.ID, "an earlier attempt stopped after the end of data (crash or timeout); not sent again")
		if err != nil {
			return SendResult{}, storeErr("mark ambiguous", err)
		}
		return resultOf(m), nil
	}
	id := fmt.Sprintf("<msg-%d@dangol>", msg.ID)
	marked := false
	err := a.Mail.Send(ctx, mail.Message{To: msg.Recipient, Subject: msg.Subject, TextBody: msg.Body, MessageID: id,
		UnsubscribeURL: msg.UnsubscribeURL,
		BeforeEndOfData: func() error {
			_, err := a.Store.MarkSendingOnce(ctx, msg.ID)
			marked = err == nil
			return err
		}})
	var pe *mail.PermanentError
	var unknown *mail.UnknownOutcomeError
	switch {
	case err == nil:
		return a.accepted(ctx, msg, id, domain.MessageSent)
	case errors.As(err, &unknown):
		m, merr := a.Store.MarkAmbiguous(ctx, msg.ID, scrub(err, msg.Recipient).Error())
		if merr != nil {
			return SendResult{}, storeErr("mark ambiguous", merr)
		}
		return resultOf(m), nil
	case errors.As(err, &pe):
		if _, ferr := a.Store.MarkFinal(ctx, msg.ID, domain.MessageFailed, fmt.Sprint(pe.Code), scrub(pe, msg.Recipient).Error()); ferr != nil {
			return SendResult{}, storeErr("mark failed", ferr)
		}
		return SendResult{}, nonRetryable(ErrTypeInvalidRecipient, fmt.Errorf("mail %d: %w", msg.ID, err))
	}
	if marked {
		// The relay refused or the connection broke before the end of
		// data: not taken, so the next attempt may send.
		if _, nerr := a.Store.MarkNotSent(ctx, msg.ID, scrub(err, msg.Recipient).Error()); nerr != nil {
			return SendResult{}, fmt.Errorf("mail %d: %w (and recording that: %v)", msg.ID, err, nerr)
		}
	}
	return SendResult{}, fmt.Errorf("mail %d: %w", msg.ID, err)
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
