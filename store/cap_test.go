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

// Two programs sending to one customer at the same instant under a cap of
// one: exactly one message gets its place; the other learns when the
// window frees.
func TestMarketingCapIsAtomic(t *testing.T) {
	ctx := context.Background()
	st, _ := testenv.Store(t)
	phone := "+821012345678"
	c, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "cap-1", Name: "가", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	ids := make([]int64, n)
	for i := range ids {
		m, err := st.ClaimMessage(ctx, store.Message{IdempotencyKey: fmt.Sprintf("cap:%d", i), CustomerID: c.ID, Channel: domain.ChannelSMS,
			Recipient: phone, Body: "x", Purpose: "marketing"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = m.ID
	}
	for round, max := range []int{1, 2} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		passed, frees := 0, []time.Time{}
		for _, id := range ids {
			wg.Go(func() {
				ok, freeAt, err := st.TakeMarketingPlace(ctx, c.ID, id, max, 7*24*time.Hour)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Error(err)
				}
				if ok {
					passed++
				} else {
					frees = append(frees, freeAt)
				}
			})
		}
		wg.Wait()
		// Round 0 (cap 1): one passes. Round 1 (cap 2): the one that
		// passed keeps its place (a retry), and one more passes.
		want := []int{1, 2}[round]
		if passed != want {
			t.Fatalf("cap %d: %d of %d concurrent messages passed, want %d", max, passed, n, want)
		}
		for _, f := range frees {
			if d := time.Until(f); d < 6*24*time.Hour || d > 7*24*time.Hour {
				t.Fatalf("cap %d: a capped message would free at %s, want about 7 days from now", max, f)
			}
		}
	}
	// No marketing at all: never frees.
	none, err := st.ClaimMessage(ctx, store.Message{IdempotencyKey: "cap:none", CustomerID: c.ID, Channel: domain.ChannelSMS,
		Recipient: phone, Body: "x", Purpose: "marketing"})
	if err != nil {
		t.Fatal(err)
	}
	ok, freeAt, err := st.TakeMarketingPlace(ctx, c.ID, none.ID, 0, time.Hour)
	if err != nil || ok || !freeAt.IsZero() {
		t.Fatalf("cap 0: ok=%v freeAt=%v err=%v, want refused for good", ok, freeAt, err)
	}
	// A place given back is free again.
	var holder int64
	for _, id := range ids {
		if ok, _, _ := st.TakeMarketingPlace(ctx, c.ID, id, 1, 7*24*time.Hour); ok {
			holder = id
			break
		}
	}
	if err := st.ReleaseMarketingPlace(ctx, holder); err != nil {
		t.Fatal(err)
	}
	ok, _, err = st.TakeMarketingPlace(ctx, c.ID, none.ID, 2, 7*24*time.Hour)
	if err != nil || !ok {
		t.Fatalf("after a release: ok=%v err=%v, want a place", ok, err)
	}
}
