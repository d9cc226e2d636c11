package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// Built-in answers to a customer's SMS reply (issue 8): service messages,
// so the confirmation of a STOP reaches a customer who just withdrew
// advertising consent.
const (
	BuiltinStopConfirmed  = "inbound-stop"
	BuiltinStartConfirmed = "inbound-start"
	BuiltinHelp           = "inbound-help"
)

// InboundAnswer is the built-in text that answers a reply with keyword
// (store.KeywordStop...), or "" when the reply gets no answer.
func InboundAnswer(keyword string) string {
	switch keyword {
	case store.KeywordStop:
		return BuiltinStopConfirmed
	case store.KeywordStart:
		return BuiltinStartConfirmed
	case store.KeywordHelp:
		return BuiltinHelp
	}
	return ""
}

// InboundConfirmKey is the idempotency key of the one answer to the reply
// with this provider SID.
func InboundConfirmKey(sid string) string { return "inbound:" + sid + ":confirm" }

// ReasonInvalidPhone suppresses SMS to a number the provider refused for
// good as no (mobile) number.
const ReasonInvalidPhone = "invalid phone"

// inboundText writes the answer to a reply; ok is false for a name that
// is none of the inbound answers.
func (w noticeWriter) inboundText(builtin string) (noticeText, bool) {
	contact := w.set.SenderContact
	var t noticeText
	switch {
	case builtin == BuiltinStopConfirmed && w.korean:
		t = noticeText{"광고성 문자 수신거부 처리 안내", "광고성 문자(SMS) 수신거부가 처리되었습니다. 다시 받으시려면 START 또는 수신동의라고 답장해 주세요."}
	case builtin == BuiltinStopConfirmed:
		t = noticeText{"You are unsubscribed", "You are unsubscribed from our advertising text messages. Reply START to receive them again."}
	case builtin == BuiltinStartConfirmed && w.korean:
		t = noticeText{"광고성 문자 수신동의 처리 안내", "광고성 문자(SMS) 수신동의가 처리되었습니다. 수신을 원하지 않으시면 STOP 또는 수신거부라고 답장해 주세요."}
	case builtin == BuiltinStartConfirmed:
		t = noticeText{"You are subscribed again", "You will receive our advertising text messages again. Reply STOP to unsubscribe."}
	case builtin == BuiltinHelp && w.korean:
		ask := "매장에 문의해 주세요."
		if contact != "" {
			ask = "문의: " + contact + "."
		}
		t = noticeText{"도움말", ask + " 광고 문자 수신거부는 STOP 또는 수신거부, 다시 받으시려면 START라고 답장해 주세요."}
	case builtin == BuiltinHelp:
		ask := "Ask us at the store."
		if contact != "" {
			ask = "Questions: " + contact + "."
		}
		t = noticeText{"Help", ask + " Reply STOP to unsubscribe from advertising, START to receive it again."}
	default:
		return t, false
	}
	t.subject, t.body = w.sender()+t.subject, w.sender()+t.body
	return t, true
}

// providerRefused applies what a permanent refusal of an SMS says about
// its number, for every customer with it: 21610 (the recipient
// unsubscribed with the provider) withdraws SMS advertising consent,
// 21211 and 21614 (no valid / no mobile number) mark the number invalid so
// no later SMS is attempted. It runs before the message is settled, so a
// failure here is retried rather than lost.
func (a *Activities) providerRefused(ctx context.Context, phone string, code int) error {
	switch code {
	case 21610:
		cs, err := a.Store.CustomersByPhone(ctx, phone)
		if err != nil {
			return storeErr("customers by phone", err)
		}
		now := time.Now().UTC()
		for _, c := range cs {
			_, _, _, err := a.Store.ChangeConsent(ctx, c.ID, domain.ChannelSMS, false, store.SourceProvider21610, store.ActorSystem, now)
			if err != nil && !errors.Is(err, store.ErrNotFound) { // erased meanwhile: nothing to withdraw
				return storeErr(fmt.Sprintf("withdraw sms consent of customer %d", c.ID), err)
			}
		}
	case 21211, 21614:
		if err := a.Store.MarkPhoneInvalid(ctx, phone, fmt.Sprint(code)); err != nil {
			return storeErr("mark phone invalid", err)
		}
	}
	return nil
}
