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
	r.RegisterWorkflowWithOptions(workflows.FanOut, workflow.RegisterOptions{Name: workflows.WorkflowFanOut})
	r.RegisterWorkflowWithOptions(workflows.ReconcileMessages, workflow.RegisterOptions{Name: "ReconcileMessages"})
	r.RegisterWorkflowWithOptions(workflows.ConsentNotices, workflow.RegisterOptions{Name: "ConsentNotices"})
	r.RegisterWorkflowWithOptions(workflows.InboundAnswer, workflow.RegisterOptions{Name: workflows.WorkflowInboundAnswer})
	r.RegisterWorkflowWithOptions(workflows.ReportMails, workflow.RegisterOptions{Name: "ReportMails"})
}

// Workers polls dangol's two task queues: enrolments on the main queue,
// sweeps and the grading job on the control queue, so a sweep that has
// just started ten thousand enrolments is not queued behind their first
// workflow tasks.
type Workers struct {
	all []sdkworker.Worker
}

// New creates the workers of both queues; each can run everything.
func New(c client.Client, taskQueue string, acts *activities.Activities) *Workers {
	var w Workers
	for _, q := range []string{taskQueue, workflows.ControlQueue(taskQueue)} {
		sw := sdkworker.New(c, q, sdkworker.Options{
			// A sweep hands the main queue thousands of first tasks at
			// once; two pollers (the default) leave the worker idle
			// waiting on the round trip to the server.
			MaxConcurrentWorkflowTaskPollers: 8,
			MaxConcurrentActivityTaskPollers: 8,
		})
		Register(sw, acts)
		w.all = append(w.all, sw)
	}
	return &w
}

// Start starts polling; on error nothing is left running.
func (w *Workers) Start() error {
	for i, sw := range w.all {
		if err := sw.Start(); err != nil {
			for _, started := range w.all[:i] {
				started.Stop()
			}
			return err
		}
	}
	return nil
}

// Stop stops polling and waits for running tasks.
func (w *Workers) Stop() {
	for _, sw := range w.all {
		sw.Stop()
	}
}
