package activities_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

func wantNonRetryable(t *testing.T, err error) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Fatalf("err = %v, want non-retryable", err)
	}
}

// Twilio's 21610 (the recipient replied STOP to Twilio itself) withdraws
// SMS advertising consent of everyone with the number, as the system's
// act; the send is not retried and later advertising is suppressed.
func TestProvider21610WithdrawsSMSConsent(t *testing.T) {
	r := newRig(t)
	const phone = "+821055550010"
	c := r.customer("c-1", phone, "a@example.com")
	shared := r.customer("c-2", phone, "b@example.com")
	r.standin.Unsubscribe(phone)
	_, err := r.acts.SendMessage(r.ctx, r.request("k1", domain.ChannelSMS, c))
	wantNonRetryable(t, err)
	if m := r.message("k1"); m.Status != domain.MessageFailed || deref(m.ErrorCode) != "21610" {
		t.Fatalf("message %s %q", m.Status, deref(m.ErrorCode))
	}
	for _, id := range []int64{c, shared} {
		got, err := r.st.CustomerByID(r.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v := got.Consent[domain.ChannelSMS]; v.Granted || v.Source != store.SourceProvider21610 {
			t.Fatalf("customer %d sms consent %+v, want withdrawn by provider 21610", id, v)
		}
		events, err := r.st.ConsentHistory(r.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if events[0].Actor != store.ActorSystem || events[0].Granted || events[0].Channel != domain.ChannelSMS {
			t.Fatalf("consent event %+v", events[0])
		}
	}
	// The same request again (a retry) sends nothing; an advertisement
	// is suppressed for want of consent and never reaches the provider.
	if _, err := r.acts.SendMessage(r.ctx, r.request("k1", domain.ChannelSMS, c)); err != nil {
		t.Fatal(err)
	}
	ad := r.request("k2", domain.ChannelSMS, c)
	ad.Purpose = compliance.PurposeMarketing
	res, err := r.acts.SendMessage(r.ctx, ad)
	if err != nil || res.Status != domain.MessageSuppressed {
		t.Fatalf("advertisement after 21610: %+v %v", res, err)
	}
	if n, refused := len(r.standin.Messages()), r.standin.Refused(phone); n != 0 || refused != 1 {
		t.Fatalf("the provider got %d messages and refused %d, want 0 and 1", n, refused)
	}
	r.standin.Reset() // Twilio forgets a STOP when the customer sends START
	// The answer to the customer's STOP is a service message: it goes.
	res, err = r.acts.SendMessage(r.ctx, activities.SendRequest{Key: "k3", Channel: domain.ChannelSMS, CustomerID: c,
		Template: activities.TemplateRef{Builtin: activities.BuiltinStopConfirmed}})
	if err != nil || res.Status == domain.MessageSuppressed || len(r.standin.Messages()) != 1 ||
		!strings.Contains(r.standin.Messages()[0].Body, "수신거부가 처리되었습니다") {
		t.Fatalf("stop confirmation: %+v %v %+v", res, err, r.standin.Messages())
	}
}

// 21211 and 21614 (no valid / no mobile number) mark the number invalid:
// the send is not retried, and no later SMS to it is attempted.
func TestProviderInvalidNumberMarksPhoneInvalid(t *testing.T) {
	for _, code := range []int{21211, 21614} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			r := newRig(t)
			c := r.customer("c-1", "+821055550020", "a@example.com")
			r.standin.FailNext(1, http.StatusBadRequest, code, "not a valid mobile number")
			_, err := r.acts.SendMessage(r.ctx, r.request("k1", domain.ChannelSMS, c))
			wantNonRetryable(t, err)
			invalid, err := r.st.PhoneInvalid(r.ctx, "+821055550020")
			if err != nil || !invalid {
				t.Fatalf("phone invalid = %v %v", invalid, err)
			}
			got, err := r.st.CustomerByID(r.ctx, c)
			if err != nil || !got.Consent[domain.ChannelSMS].Granted {
				t.Fatalf("an invalid number changed consent: %+v %v", got.Consent, err)
			}
			res, err := r.acts.SendMessage(r.ctx, r.request("k2", domain.ChannelSMS, c))
			if err != nil || res.Status != domain.MessageSuppressed || res.Reason != activities.ReasonInvalidPhone {
				t.Fatalf("next SMS: %+v %v", res, err)
			}
			if n := len(r.standin.Messages()); n != 0 {
				t.Fatalf("the provider got %d messages", n)
			}
			// Mail still goes: only the number is bad.
			if invalid, _ := r.st.PhoneInvalid(r.ctx, "+821055550021"); invalid {
				t.Fatal("another number is invalid too")
			}
		})
	}
}

// HELP is answered with who sends and how to reach them.
func TestHelpAnswerNamesSenderContact(t *testing.T) {
	r := newRig(t)
	c := r.customer("c-1", "+821055550030", "a@example.com")
	res, err := r.acts.SendMessage(r.ctx, activities.SendRequest{Key: "help", Channel: domain.ChannelSMS, CustomerID: c,
		Template: activities.TemplateRef{Builtin: activities.BuiltinHelp}})
	if err != nil || res.Status == domain.MessageSuppressed {
		t.Fatalf("%+v %v", res, err)
	}
	if ms := r.standin.Messages(); len(ms) != 1 || !strings.Contains(ms[0].Body, "02-555-0100") || !strings.Contains(ms[0].Body, "[단골상점]") {
		t.Fatalf("help answer %+v", ms)
	}
}
