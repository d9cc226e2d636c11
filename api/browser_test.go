package api_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/dangol/dangol/activities"
)

// phoneWidth is a small phone's screen in CSS pixels.
const phoneWidth = 375

// browser starts a headless Chromium for one test, on a phone-sized screen
// with the page's own scripts switched off: a customer opens these pages
// from an SMS or a mail on a phone, and the pages promise to need no
// JavaScript. scripts/test.sh installs Chromium and sets
// DANGOL_REQUIRE_BROWSER, so in CI a missing browser fails instead of
// skipping.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("DANGOL_REQUIRE_BROWSER") != "" {
			t.Fatal("no Chromium on PATH (apt-get install chromium)")
		}
		t.Skip("no Chromium on PATH; scripts/test.sh installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.Flag("lang", "ko-KR"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(phoneWidth, 667, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
	)
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// fitsScreen reports whether the page needs no sideways scrolling on the
// phone's screen.
func fitsScreen(ctx context.Context, t *testing.T) {
	t.Helper()
	w := fmt.Sprint(phoneWidth)
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= `+w+` && document.documentElement.clientWidth == `+w))
	if err != nil {
		t.Fatal(err)
	}
	if !fits {
		t.Error("the page is wider than a 375 px phone screen")
	}
}

// text is what the page shows.
func text(ctx context.Context, t *testing.T) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A customer opens the preference link from a mail on a phone, taps the
// mail box off and the call box on (on the labels' text, as a thumb
// does) and saves: the browser's own form post switches the consents, the
// page says so and shows the new state.
func TestPreferencePageInBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := browser(t)
	id := e.unsubscribeCustomer("b-1", "sms", "email")
	acts := &activities.Activities{LinkSecret: linkSecret, PublicBaseURL: e.url}
	link, err := acts.PreferencesURL(id, "email")
	if err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button[name="save"]`))); err != nil {
		t.Fatal(err)
	}
	before := text(ctx, t)
	if !strings.Contains(before, "수신 설정") || !strings.Contains(before, "Your preferences") {
		t.Fatalf("page says %q", before)
	}
	fitsScreen(ctx, t)
	checked := func(name string) bool {
		on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('input[name="`+name+`"]').checked`))
		if err != nil {
			t.Fatal(err)
		}
		return on
	}
	if !checked("sms") || !checked("email") || checked("call") {
		t.Fatalf("boxes before: sms=%v email=%v call=%v", checked("sms"), checked("email"), checked("call"))
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`label:has(input[name="email"]) span`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`label:has(input[name="call"]) span`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`button[name="save"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`.saved`)),
	); err != nil {
		t.Fatal(err)
	}
	after := text(ctx, t)
	if !strings.Contains(after, "저장되었습니다") {
		t.Fatalf("after saving the page says %q", after)
	}
	if !checked("sms") || checked("email") || !checked("call") {
		t.Fatalf("boxes after saving: sms=%v email=%v call=%v", checked("sms"), checked("email"), checked("call"))
	}
	consent := e.consentOf("b-1")
	if !consent["sms"].Granted || consent["email"].Granted || !consent["call"].Granted {
		t.Fatalf("consent after the browser saved: %+v", consent)
	}
	if consent["email"].Source != "preference page" {
		t.Fatalf("email withdrawal recorded from %q", consent["email"].Source)
	}
}

// The unsubscribe link opened in a browser (not a mail client's one-click
// POST): the page asks before it acts, so a link scanner's GET withdraws
// nothing, and the customer's tap on its button does.
func TestUnsubscribePageInBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := browser(t)
	id := e.unsubscribeCustomer("b-2", "sms", "email")
	link := e.url + "/u/" + unsubscribeToken(linkSecret, id, "email", time.Now().Add(time.Hour))

	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button[name="List-Unsubscribe"]`))); err != nil {
		t.Fatal(err)
	}
	page := text(ctx, t)
	fitsScreen(ctx, t)
	if !e.consentOf("b-2")["email"].Granted {
		t.Fatal("opening the link withdrew consent before the button was pressed")
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[name="List-Unsubscribe"]`), chromedp.NodeVisible),
		chromedp.WaitNotPresent(chromedp.CSS(`button[name="List-Unsubscribe"]`)),
	); err != nil {
		t.Fatalf("pressing the button (page said %q): %v", page, err)
	}
	done := text(ctx, t)
	consent := e.consentOf("b-2")
	if consent["email"].Granted || !consent["sms"].Granted {
		t.Fatalf("after the button: %+v (page says %q)", consent, done)
	}
}
