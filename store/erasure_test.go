package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

func TestRedactEveryForm(t *testing.T) {
	for _, c := range []struct{ text, recipient, want string }{
		{"To +821012345678 failed", "+821012345678", "To [recipient] failed"},
		{"number 821012345678 / 01012345678 / 1012345678", "+821012345678", "number [recipient] / [recipient] / [recipient]"},
		{"mailbox Minsu@Example.com full", "minsu@example.com", "mailbox [recipient] full"},
		{"nothing here", "+821012345678", "nothing here"},
		{"no recipient", "", "no recipient"},
	} {
		if got := store.Redact(c.text, c.recipient); got != c.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", c.text, c.recipient, got, c.want)
		}
	}
}

// A provider report's error text is kept without the number; once the
// customer is erased, a late report keeps no text at all.
func TestProviderReportTextIsRedacted(t *testing.T) {
	ctx := context.Background()
	st, _ := testenv.Store(t)
	phone := "+821012345678"
	c, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "c-1", Name: "김민수", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR",
		Consent: map[string]store.Consent{"sms": {Granted: true, At: time.Now(), Source: "pos"}}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(key, sid string) store.Message {
		m, err := st.ClaimMessage(ctx, store.Message{IdempotencyKey: key, CustomerID: c.ID, Channel: domain.ChannelSMS, Recipient: phone, Body: "안녕하세요", Purpose: "service"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.MarkSending(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if m, err = st.MarkAccepted(ctx, m.ID, sid, domain.MessageQueued); err != nil {
			t.Fatal(err)
		}
		return m
	}
	texts := func(id int64) string {
		m, err := st.MessageByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		if m.ErrorMessage != nil {
			out = append(out, *m.ErrorMessage)
		}
		events, _ := st.MessageEvents(ctx, id)
		for _, e := range events {
			for _, v := range e.Detail {
				out = append(out, v)
			}
		}
		return strings.Join(out, "|")
	}
	a := send("a", "SM00000000000000000000000000000001")
	if _, err := st.ApplyProviderReport(ctx, store.ProviderReport{ProviderID: "SM00000000000000000000000000000001", Status: domain.MessageUndelivered,
		ErrorCode: "30003", ErrorMessage: "Unreachable destination 821012345678", Source: "reconcile"}); err != nil {
		t.Fatal(err)
	}
	if got := texts(a.ID); strings.Contains(got, "1012345678") || !strings.Contains(got, "Unreachable destination [recipient]") {
		t.Fatalf("texts %q", got)
	}
	b := send("b", "SM00000000000000000000000000000002")
	if _, err := st.EraseCustomer(ctx, "c-1", "test", "control", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyProviderReport(ctx, store.ProviderReport{ProviderID: "SM00000000000000000000000000000002", Status: domain.MessageUndelivered,
		ErrorCode: "30003", ErrorMessage: "Unreachable destination 010-1234-5678", Source: "twilio"}); err != nil {
		t.Fatal(err)
	}
	if got := texts(b.ID); strings.Contains(got, "5678") || strings.Contains(got, "Unreachable") {
		t.Fatalf("texts after erasure %q", got)
	}
	if got := texts(a.ID); strings.Contains(got, "Unreachable") {
		t.Fatalf("erasure kept provider texts: %q", got)
	}
	// Erased: the external id is free, a second erasure finds nobody.
	if _, err := st.EraseCustomer(ctx, "c-1", "test", "control", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second erasure: %v", err)
	}
}
