package workflows

import "github.com/dangol/dangol/activities"

// a is only used to name activity methods in ExecuteActivity, so calls are
// type-checked; the worker registers the real value.
var a *activities.Activities
