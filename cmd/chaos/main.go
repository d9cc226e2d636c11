// Command chaos checks exactly-once delivery the way a customer would. On
// the `make dev` stack it runs both program families over many customers
// (event: happy call and second purchase, entered by POST /v1/purchases;
// segment: welcome back and dormant wake-up, entered by their sweeps)
// while things break:
//
//   - PostgreSQL is killed while the API takes the purchases: the API must
//     answer 503 with Retry-After meanwhile (never 500), and the purchases,
//     repeated after Retry-After, are all taken once it is back;
//   - the Twilio stand-in answers 500, then 429 with Retry-After, then
//     hangs past the client's timeout after accepting each message;
//   - SMTP refuses connections (a proxy between dangol and the mail
//     catcher stops listening);
//   - dangol, the Temporal server and PostgreSQL are killed with SIGKILL
//     and restarted with scripts/dev.sh, -rounds times.
//
// Then it counts what the Twilio stand-in and the mail catcher received,
// not what dangol's tables say: every planned message exactly once.
//
//	go run ./cmd/chaos [-customers 300] [-rounds 2] [-faults=true]
//
// It exits 1 when any planned SMS arrived twice or never, any mail twice,
// any mail never unless dangol recorded it as ambiguous (a kill after the
// end of data: reported, not retried), any enrolment did not end, the API
// answered a 500, or a retry came back before a 429's Retry-After.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	customers := flag.Int("customers", 300, "customers: half buy (happy call, second purchase), a quarter lapsed (welcome back), a quarter long lapsed (wake-up)")
	rounds := flag.Int("rounds", 2, "rounds of kill -9: dangol, Temporal, PostgreSQL")
	faults := flag.Bool("faults", true, "Twilio outages (500, 429, hang), SMTP refusing connections, PostgreSQL killed during purchases")
	timeout := flag.Duration("timeout", 8*time.Minute, "how long to wait for every enrolment to end")
	flag.Parse()
	if *customers < 4 || *customers > 2000 {
		fail(fmt.Errorf("-customers %d: want 4 to 2000", *customers))
	}
	if *rounds < 0 || *rounds > 20 {
		fail(fmt.Errorf("-rounds %d: want 0 to 20", *rounds))
	}
	c, err := newChaos()
	if err != nil {
		fail(err)
	}
	err = c.run(*customers, *rounds, *faults, *timeout)
	c.cleanup()
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(1)
}
