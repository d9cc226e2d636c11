// Package worker assembles the Temporal worker: every workflow and the one
// activities value, on dangol's task queue.
package worker

import (
	// Embedded zone data keeps calendar arithmetic identical on every
	// worker, whatever the host's tzdata: workflows must replay the same.
	_ "time/tzdata"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/workflows"
)

// Register adds dangol's workflows and activities to a worker (or a test
// environment or replayer: anything with the registry methods).
func Register(r interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
	RegisterActivity(a interface{})
}, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows adds the workflows only, for the replayer.
func RegisterWorkflows(r interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(workflows.HappyCall, workflow.RegisterOptions{Name: "HappyCall"})
	r.RegisterWorkflowWithOptions(workflows.RecomputeGrades, workflow.RegisterOptions{Name: "RecomputeGrades"})
	r.RegisterWorkflowWithOptions(workflows.WelcomeBack, workflow.RegisterOptions{Name: "WelcomeBack"})
	r.RegisterWorkflowWithOptions(workflows.DormantWakeup, workflow.RegisterOptions{Name: "DormantWakeup"})
	r.RegisterWorkflowWithOptions(workflows.Birthday, workflow.RegisterOptions{Name: "Birthday"})
	r.RegisterWorkflowWithOptions(workflows.SecondPurchase, workflow.RegisterOptions{Name: "SecondPurchase"})
	r.RegisterWorkflowWithOptions(workflows.Sweep, workflow.RegisterOptions{Name: "Sweep"})
}

// New creates a worker polling dangol's task queue.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{})
	Register(w, acts)
	return w
}
