package sendcost_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/sendcost"
	"github.com/dangol/dangol/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// maxFirstSMS is issue 10's goal: one load of what a send needs, the
// claim, the provider's answer recorded.
const maxFirstSMS = 4

// Each send reaches its provider exactly once, and a first SMS costs at
// most maxFirstSMS round trips, advertising (the cap) or service. The
// other cases are reported, with their statements when -v.
func TestSendRoundTrips(t *testing.T) {
	_, dsn := testenv.Store(t)
	cases, err := sendcost.Run(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 8 {
		t.Fatalf("%d cases, want 8", len(cases))
	}
	for _, c := range cases {
		t.Logf("%-22s %-10s round trips %2d (%d statements, %d batches)", c.Name(), c.Status, c.Counts.RoundTrips(), c.Counts.Queries, c.Counts.Batches)
		if testing.Verbose() {
			t.Logf("    %s", strings.Join(c.Statements, "\n    "))
		}
		if c.Delivered != 1 {
			t.Errorf("%s: the provider holds %d messages, want 1", c.Name(), c.Delivered)
		}
		wantStatus := domain.MessageQueued
		switch {
		case c.Channel == domain.ChannelEmail && c.Retry:
			// The relay may have taken it; SMTP cannot be asked.
			wantStatus = domain.MessageAmbiguous
		case c.Channel == domain.ChannelEmail:
			wantStatus = domain.MessageSent
		}
		if c.Status != wantStatus {
			t.Errorf("%s: status %s, want %s", c.Name(), c.Status, wantStatus)
		}
		if c.Channel == domain.ChannelSMS && !c.Retry && c.Counts.RoundTrips() > maxFirstSMS {
			t.Errorf("%s: %d round trips, want at most %d", c.Name(), c.Counts.RoundTrips(), maxFirstSMS)
		}
	}
}
