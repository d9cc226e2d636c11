package activities

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// A message that renders over its channel's bound (here an SMS greeting a
// customer whose 2,000-character name was stored before names were
// bounded) fails the send as BadTemplate, which Temporal does not retry,
// and nothing is recorded or handed to the provider (a nil SMS sender
// would panic).
func TestSendMessageRefusesAnOversizedMessage(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	params, err := programs.Parse(programs.KindSecondPurchase, json.RawMessage(`{"thank_you":{"text":"{{.Name}}님, 감사합니다."}}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(params)
	p, err := st.CreateProgram(ctx, "재구매", programs.KindSecondPurchase, raw)
	if err != nil {
		t.Fatal(err)
	}
	phone := "+821012345678"
	long, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "long", Name: strings.Repeat("가", 2000), Phone: &phone, TimeZone: "Asia/Seoul",
		Consent: map[string]store.Consent{domain.ChannelSMS: {Granted: true}}})
	if err != nil {
		t.Fatal(err)
	}
	short, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "short", Name: "홍길동", Phone: &phone, TimeZone: "Asia/Seoul",
		Consent: map[string]store.Consent{domain.ChannelSMS: {Granted: true}}})
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{Store: st}
	ref := TemplateRef{ProgramID: p.ID, Version: 1, Step: programs.StepThankYou}

	_, err = a.SendMessage(ctx, SendRequest{Key: "too-long", Channel: domain.ChannelSMS, CustomerID: long.ID, Template: ref})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeBadTemplate || !appErr.NonRetryable() || !errors.Is(err, programs.ErrTooLong) {
		t.Fatalf("SendMessage = %v; want a non-retryable %s wrapping ErrTooLong", err, ErrTypeBadTemplate)
	}
	if _, err := st.MessageByKey(ctx, "too-long"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a message was recorded: %v", err)
	}
	// The same template as mail is within its bound.
	if _, err := a.render(ctx, ref, domain.ChannelEmail, long.ID, extras{}); err != nil {
		t.Errorf("as mail: %v", err)
	}
	if r, err := a.render(ctx, ref, domain.ChannelSMS, short.ID, extras{}); err != nil || r.body != "홍길동님, 감사합니다." {
		t.Errorf("short name: %+v, %v", r, err)
	}
	// A call script has its own, longer bound.
	if _, err := a.render(ctx, ref, domain.ChannelCall, long.ID, extras{}); err != nil {
		t.Errorf("as a call script: %v", err)
	}
}
