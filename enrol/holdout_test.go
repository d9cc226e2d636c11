package enrol_test

import (
	"math"
	"testing"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// The control share is what the program asks for (±0.5 points over
// 100,000 customers) at every percent a marketer may set.
func TestHeldOutShare(t *testing.T) {
	const n = 100000
	for _, percent := range []int{1, 5, 10, 25, 50} {
		for _, program := range []int64{1, 7, 123456789} {
			held := 0
			for c := int64(1); c <= n; c++ {
				if enrol.HeldOut(program, c, percent) {
					held++
				}
			}
			share := 100 * float64(held) / n
			if math.Abs(share-float64(percent)) > 0.5 {
				t.Errorf("program %d at %d%%: %.2f%% held out", program, percent, share)
			}
		}
	}
	for c := int64(1); c <= 1000; c++ {
		if enrol.HeldOut(7, c, 0) {
			t.Fatalf("customer %d held out at 0%%", c)
		}
	}
}

// The choice never changes: fixed answers pin the hash, so a change to it
// (which would move customers between groups mid-program) fails here.
func TestHeldOutStable(t *testing.T) {
	var got []int64
	for c := int64(1); len(got) < 8; c++ {
		if enrol.HeldOut(42, c, 10) {
			got = append(got, c)
		}
	}
	want := pinnedHeldOut
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("held out of program 42 at 10%%: %v, pinned %v", got, want)
		}
	}
	// Two programs choose independently: their groups overlap about as
	// much as chance says (10% of 10%).
	both := 0
	for c := int64(1); c <= 100000; c++ {
		if enrol.HeldOut(1, c, 10) && enrol.HeldOut(2, c, 10) {
			both++
		}
	}
	if both < 800 || both > 1200 {
		t.Errorf("programs 1 and 2 share %d of 100000 control customers", both)
	}
	// A lower share's group is inside a higher share's: raising the
	// holdout never moves a control customer back to treated.
	for c := int64(1); c <= 10000; c++ {
		if enrol.HeldOut(5, c, 5) && !enrol.HeldOut(5, c, 10) {
			t.Fatalf("customer %d held out at 5%% but not 10%%", c)
		}
	}
}

func TestControlReadsTheProgramsHoldout(t *testing.T) {
	wb := enrol.Program{ID: 42, Kind: programs.KindWelcomeBack, Params: parse(t, programs.KindWelcomeBack, `{}`)}
	hc := enrol.Program{ID: 42, Kind: programs.KindHappyCall, Params: parse(t, programs.KindHappyCall, `{}`)}
	none := enrol.Program{ID: 42, Kind: programs.KindWelcomeBack, Params: parse(t, programs.KindWelcomeBack, `{"holdout_percent": 0}`)}
	c := pinnedHeldOut[0]
	if !enrol.Control(wb, c) || enrol.Control(hc, c) || enrol.Control(none, c) {
		t.Fatalf("customer %d: welcome back (10%%) %v, happy call (0%%) %v, holdout 0 %v", c, enrol.Control(wb, c), enrol.Control(hc, c), enrol.Control(none, c))
	}
}

// pinnedHeldOut are the first customers of program 42 held out at 10%.
var pinnedHeldOut = []int64{2, 16, 33, 38, 67, 70, 82, 89}
