package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/store"
)

// customer runs `dangol customer erase <externalId> [--by NAME]`: the same
// erasure as DELETE /v1/customers/{externalId}, for operators, recorded
// with the operator's name as its actor.
func customer(ctx context.Context, cfg config.Config, out io.Writer, cmd string, args []string) error {
	if cmd != "erase" {
		return fmt.Errorf("customer %s: want erase", cmd)
	}
	fs := flag.NewFlagSet("customer erase", flag.ContinueOnError)
	by := fs.String("by", "operator", "who asked for the erasure (recorded; no personal data)")
	// The id comes first (customer erase ID --by NAME); flags may also
	// precede it.
	var id string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return errors.New("customer erase takes one external id")
	}
	switch {
	case id == "":
		return errors.New("customer erase: the customer's external id is required")
	case *by == "" || len(*by) > 100:
		return errors.New("--by must be 1-100 characters")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// Lazy: Temporal is dialled only if the customer has live enrolments
	// to end.
	tc, err := client.NewLazyClient(temporalOptions(cfg))
	if err != nil {
		return fmt.Errorf("temporal %s: %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()
	srv := &api.Server{Store: st, Temporal: tc, TaskQueue: cfg.TaskQueue}
	e, err := srv.EraseCustomer(ctx, id, "operator:"+*by)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no customer %q (or already erased)", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(out, "erased customer %q: erasure %d at %s; %d running enrolments end in the background (fan-out %d, %s)\n",
		id, e.ID, e.At.Format(time.RFC3339), e.FanOut.Total, e.FanOut.ID, e.FanOut.Status)
	return nil
}
