package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/dangol/dangol/audience"
	"github.com/dangol/dangol/demo"
	"github.com/dangol/dangol/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The demo store gives the README's audience examples something to find,
// and running it again adds nothing.
func TestSeedIsRealisticAndRepeatable(t *testing.T) {
	ctx := context.Background()
	st, _ := testenv.Store(t)
	now := time.Now()
	first, err := demo.Seed(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	if first.Customers != 40 || first.Purchases == 0 || first.Lapsed == 0 || first.BirthdaysThisWeek == 0 {
		t.Fatalf("seeded %+v", first)
	}
	again, err := demo.Seed(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	if again.Purchases != 0 || again.Customers != 40 {
		t.Fatalf("second seed wrote %+v", again)
	}
	days := 90
	n, sample, err := st.PreviewAudience(ctx, audience.Filter{LastPurchaseOlderThanDays: &days, Consent: "sms"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(first.Lapsed+first.Dormant) || len(sample) == 0 {
		t.Fatalf("lapsed audience counts %d (sample %d), want %d", n, len(sample), first.Lapsed+first.Dormant)
	}
	yes := true
	if n, _, err := st.PreviewAudience(ctx, audience.Filter{HasBirthday: &yes}, now); err != nil || n != 40 {
		t.Fatalf("birthday audience %d %v", n, err)
	}
}
