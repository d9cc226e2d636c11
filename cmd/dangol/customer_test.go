package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// `dangol customer erase ID --by NAME` erases as the API does, records the
// operator as the actor, and refuses an unknown or already erased id.
func TestCustomerEraseCommand(t *testing.T) {
	st, dsn := testenv.Store(t)
	ctx := context.Background()
	cfg := config.Config{DatabaseURL: dsn, TemporalAddress: "127.0.0.1:1", TemporalNamespace: "default", TaskQueue: "cli-test"}
	phone := "+821012345678"
	c, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "c-1", Name: "김민수", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR",
		Consent: map[string]store.Consent{"sms": {Granted: true, At: time.Now(), Source: "pos"}}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := customer(ctx, cfg, &out, "erase", []string{"c-1", "--by", "jiyoung"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `erased customer "c-1"`) {
		t.Fatalf("output %q", out.String())
	}
	got, err := st.CustomerByID(ctx, c.ID)
	if err != nil || got.ErasedAt == nil || got.Name != "" || got.Phone != nil {
		t.Fatalf("after erase: %+v %v", got, err)
	}
	var actor string
	if err := st.Pool().QueryRow(ctx, `SELECT actor FROM erasures WHERE customer_id = $1`, c.ID).Scan(&actor); err != nil || actor != "operator:jiyoung" {
		t.Fatalf("actor %q %v", actor, err)
	}
	if err := customer(ctx, cfg, &bytes.Buffer{}, "erase", []string{"c-1"}); err == nil || !strings.Contains(err.Error(), "no customer") {
		t.Fatalf("second erase: %v", err)
	}
	for _, args := range [][]string{nil, {"a", "b"}, {"c-2", "--by", ""}} {
		if err := customer(ctx, cfg, &bytes.Buffer{}, "erase", args); err == nil {
			t.Fatalf("erase %q succeeded", args)
		}
	}
	if err := customer(ctx, cfg, &bytes.Buffer{}, "forget", []string{"c-2"}); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown subcommand: %v", err)
	}
}
