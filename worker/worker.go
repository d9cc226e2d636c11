// Package worker assembles the Temporal worker: every workflow and the one
// activities value, on dangol's task queue.
package worker

import (
	// Embedded zone data keeps calendar arithmetic identical on every
	// worker, whatever the host's tzdata: workflows must replay the same.
	_ "time/tzdata"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
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
	r.RegisterWorkflowWithOptions(workflows.ReportRollups, workflow.RegisterOptions{Name: "ReportRollups"})
}

// Workers polls dangol's three task queues: enrolments on the main queue,
// sweeps and the grading job on the control queue, so a sweep that has
// just started ten thousand enrolments is not queued behind their first
// workflow tasks, and SMS sends on the SMS queue, whose rate the server
// caps for all workers together (Tuning.SMSPerSecond).
type Workers struct {
	all []sdkworker.Worker
}

// Tuning is the workers' concurrency and the SMS rate (config.Worker).
type Tuning struct {
	// WorkflowPollers and ActivityPollers are long polls per task queue.
	WorkflowPollers, ActivityPollers int
	// MaxActivities and MaxWorkflowTasks bound what one worker runs at
	// once per task queue.
	MaxActivities, MaxWorkflowTasks int
	// SMSPerSecond caps SMS sends across every worker of the SMS queue
	// (Temporal's TaskQueueActivitiesPerSecond); 0 is no cap.
	SMSPerSecond float64
}

// DefaultTuning is what New uses, and the config's defaults.
func DefaultTuning() Tuning {
	return Tuning{
		// A sweep hands the main queue thousands of first tasks at once;
		// two pollers (the SDK's default) leave the worker idle waiting
		// on the round trip to the server.
		WorkflowPollers: 8, ActivityPollers: 8,
		MaxActivities: 1000, MaxWorkflowTasks: 1000,
	}
}

// SMSQueue is the task queue of SMS sends beside taskQueue.
func SMSQueue(taskQueue string) string { return taskQueue + "-sms" }

// SetStickyCacheSize sets how many workflows the process keeps in memory
// between their workflow tasks (Temporal's sticky cache, shared by every
// worker of the process). It must be called before any worker starts; a
// workflow evicted from the cache is replayed from its history when it
// next has work.
func SetStickyCacheSize(n int) { sdkworker.SetStickyWorkflowCacheSize(n) }

// New creates the workers of the three queues with DefaultTuning.
func New(c client.Client, taskQueue string, acts *activities.Activities) *Workers {
	return NewTuned(c, taskQueue, acts, DefaultTuning())
}

// NewTuned creates the workers: the main and control queues run
// everything; the SMS queue runs activities only, rate-capped.
func NewTuned(c client.Client, taskQueue string, acts *activities.Activities, t Tuning) *Workers {
	return newWorkers(c, taskQueue, t, func(r sdkworker.Worker) { Register(r, acts) }, func(r sdkworker.Worker) { r.RegisterActivity(acts) })
}

func newWorkers(c client.Client, taskQueue string, t Tuning, register, registerActivities func(sdkworker.Worker)) *Workers {
	var w Workers
	route := []interceptor.WorkerInterceptor{&smsRouting{queue: SMSQueue(taskQueue)}}
	for _, q := range []string{taskQueue, workflows.ControlQueue(taskQueue)} {
		sw := sdkworker.New(c, q, sdkworker.Options{
			MaxConcurrentWorkflowTaskPollers:       t.WorkflowPollers,
			MaxConcurrentActivityTaskPollers:       t.ActivityPollers,
			MaxConcurrentActivityExecutionSize:     t.MaxActivities,
			MaxConcurrentWorkflowTaskExecutionSize: t.MaxWorkflowTasks,
			Interceptors:                           route,
		})
		register(sw)
		w.all = append(w.all, sw)
	}
	// No workflow is registered here, so the SDK starts no workflow
	// poller on this queue.
	sms := sdkworker.New(c, SMSQueue(taskQueue), sdkworker.Options{
		MaxConcurrentActivityTaskPollers:   t.ActivityPollers,
		MaxConcurrentActivityExecutionSize: t.MaxActivities,
		TaskQueueActivitiesPerSecond:       t.SMSPerSecond,
	})
	registerActivities(sms)
	w.all = append(w.all, sms)
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
