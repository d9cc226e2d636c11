package activities

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Scrubbing rebuilds an error whose text has the recipient's number; the
// rebuilt error keeps what tells Temporal how to retry (the provider's
// Retry-After as NextRetryDelay, non-retryable), not just the type.
func TestScrubKeepsRetryInstructions(t *testing.T) {
	const phone = "+821055550001"
	for _, c := range []struct {
		name string
		opts temporal.ApplicationErrorOptions
	}{
		{"retry after", temporal.ApplicationErrorOptions{NextRetryDelay: 3 * time.Second}},
		{"non-retryable", temporal.ApplicationErrorOptions{NonRetryable: true}},
	} {
		in := fmt.Errorf("sms 7: %w", temporal.NewApplicationErrorWithOptions("refused for "+phone, ErrTypeProviderBusy, c.opts))
		out := scrub(in, phone)
		var appErr *temporal.ApplicationError
		if !errors.As(out, &appErr) {
			t.Fatalf("%s: scrubbed %T %v, want an application error", c.name, out, out)
		}
		if strings.Contains(out.Error(), phone) {
			t.Fatalf("%s: number left in %q", c.name, out)
		}
		if appErr.Type() != ErrTypeProviderBusy || appErr.NextRetryDelay() != c.opts.NextRetryDelay || appErr.NonRetryable() != c.opts.NonRetryable {
			t.Fatalf("%s: scrubbed to type %s, next retry %s, non-retryable %t; want %+v", c.name, appErr.Type(), appErr.NextRetryDelay(), appErr.NonRetryable(), c.opts)
		}
	}
}
