package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// Taking the cap's place and marking the message sending in one round
// trip keeps the cap atomic: of many messages to one customer at once,
// exactly max are marked sending (each with its event), the others stay
// pending; a message that has its place is marked again on a retry.
func TestTakeMarketingPlaceAndMarkSendingIsAtomic(t *testing.T) {
	ctx := context.Background()
	st, _ := testenv.Store(t)
	phone := "+821012345679"
	c, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "cap-send", Name: "가", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko"})
	if err != nil {
		t.Fatal(err)
	}
	const n, max = 10, 2
	ids := make([]int64, n)
	for i := range ids {
		m, err := st.ClaimMessage(ctx, store.Message{IdempotencyKey: fmt.Sprintf("cap-send:%d", i), CustomerID: c.ID, Channel: domain.ChannelSMS,
			Recipient: phone, Body: "x", Purpose: "marketing"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = m.ID
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var passed []int64
	for _, id := range ids {
		wg.Go(func() {
			ok, freeAt, m, err := st.TakeMarketingPlaceAndMarkSending(ctx, c.ID, id, max, 7*24*time.Hour)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case ok && (m.ID != id || m.Status != domain.MessageSending || m.Attempts != 1):
				t.Errorf("message %d passed and came back %+v, want it sending, attempt 1", id, m)
			case ok:
				passed = append(passed, id)
			case time.Until(freeAt) < 6*24*time.Hour:
				t.Errorf("message %d capped until %s, want about a week", id, freeAt)
			}
		})
	}
	wg.Wait()
	if len(passed) != max {
		t.Fatalf("%d of %d concurrent messages passed, want %d", len(passed), n, max)
	}
	sending := map[int64]bool{}
	for _, id := range passed {
		sending[id] = true
	}
	for _, id := range ids {
		m, err := st.MessageByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := st.MessageEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want, events := domain.MessagePending, 1
		if sending[id] {
			want, events = domain.MessageSending, 2
		}
		if m.Status != want || len(ev) != events || ev[len(ev)-1].Status != want {
			t.Fatalf("message %d is %s with events %+v, want %s with %d events", id, m.Status, ev, want, events)
		}
		if sending[id] && ev[1].Detail["attempt"] != "1" {
			t.Fatalf("sending event %+v, want attempt 1", ev[1])
		}
	}
	// A retry keeps its place and counts another attempt.
	ok, _, m, err := st.TakeMarketingPlaceAndMarkSending(ctx, c.ID, passed[0], max, 7*24*time.Hour)
	if err != nil || !ok || m.Attempts != 2 {
		t.Fatalf("retry: ok=%v %+v %v, want its place and attempt 2", ok, m, err)
	}
	// A message no longer pending or sending keeps its place but is not
	// marked.
	if _, err := st.MarkFinal(ctx, passed[1], domain.MessageFailed, "x", "y"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _, err := st.TakeMarketingPlaceAndMarkSending(ctx, c.ID, passed[1], max, 7*24*time.Hour); !ok || err != store.ErrNotFound {
		t.Fatalf("settled message: ok=%v err=%v, want its place and ErrNotFound", ok, err)
	}
}

// A provider's answer for a message being sent is recorded in one
// statement with its event; an answer the fast path cannot take (the
// message already has another provider id) is judged as before.
func TestMarkAcceptedFastAndSlow(t *testing.T) {
	ctx := context.Background()
	st, _ := testenv.Store(t)
	phone := "+821012345670"
	c, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "acc", Name: "가", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko"})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(key string) store.Message {
		m, err := st.ClaimMessage(ctx, store.Message{IdempotencyKey: key, CustomerID: c.ID, Channel: domain.ChannelSMS, Recipient: phone, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if m, err = st.MarkSending(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := claim("a")
	got, err := st.MarkAccepted(ctx, a.ID, "SM1", domain.MessageQueued)
	if err != nil || got.Status != domain.MessageQueued || got.ProviderID == nil || *got.ProviderID != "SM1" {
		t.Fatalf("accepted: %+v %v", got, err)
	}
	ev, _ := st.MessageEvents(ctx, a.ID)
	if len(ev) != 3 || ev[2].Status != domain.MessageQueued || ev[2].Detail["provider_id"] != "SM1" {
		t.Fatalf("events %+v", ev)
	}
	// The same SID for another message: failed with the reason.
	b := claim("b")
	if got, err := st.MarkAccepted(ctx, b.ID, "SM1", domain.MessageQueued); err != nil || got.Status != domain.MessageFailed ||
		got.ErrorCode == nil || *got.ErrorCode != store.CodeDuplicateProviderID {
		t.Fatalf("repeated SID: %+v %v", got, err)
	}
	// A second SID for a message that has one: kept in the history only.
	if got, err := st.MarkAccepted(ctx, a.ID, "SM2", domain.MessageQueued); err != nil || *got.ProviderID != "SM1" {
		t.Fatalf("second SID: %+v %v", got, err)
	}
}
