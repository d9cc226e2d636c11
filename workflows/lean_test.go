package workflows

import (
	"testing"

	"github.com/stretchr/testify/suite"
)

// TestBeforeLeanChange runs every program test again as a run from before
// the lean-enrolment change: such runs are alive for months and must go
// on as they were written (regular activities, a goroutine per signal
// channel, the workflow marking its enrolment active).
func TestBeforeLeanChange(t *testing.T) {
	t.Run("HappyCall", func(t *testing.T) { suite.Run(t, &happyCallSuite{beforeLean: true}) })
	t.Run("WelcomeBack", func(t *testing.T) { suite.Run(t, &welcomeBackSuite{programSuite{beforeLean: true}}) })
	t.Run("DormantWakeup", func(t *testing.T) { suite.Run(t, &dormantSuite{programSuite{beforeLean: true}}) })
	t.Run("Birthday", func(t *testing.T) { suite.Run(t, &birthdaySuite{programSuite{beforeLean: true}}) })
	t.Run("SecondPurchase", func(t *testing.T) { suite.Run(t, &secondPurchaseSuite{programSuite{beforeLean: true}}) })
	t.Run("LongRuns", func(t *testing.T) { suite.Run(t, &longRunSuite{programSuite{beforeLean: true}}) })
	t.Run("Pacing", func(t *testing.T) { suite.Run(t, &pacingSuite{programSuite{beforeLean: true}}) })
	t.Run("Conversion", func(t *testing.T) { suite.Run(t, &conversionSuite{programSuite{beforeLean: true}}) })
	t.Run("Holds", func(t *testing.T) { suite.Run(t, &holdsSuite{programSuite{beforeLean: true}}) })
	t.Run("Purposes", func(t *testing.T) { suite.Run(t, &purposeSuite{programSuite{beforeLean: true}}) })
}
