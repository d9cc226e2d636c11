package api

import (
	"context"
	"encoding/json"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// fanOut records a signal to every live enrolment of a program or a
// customer and hands it to that scope's FanOut workflow, which sends it in
// the background: the request does one insert and one SignalWithStart
// whatever the number of enrolments. Meanwhile each enrolment's database
// gate already sees the new state (program status, consent) before its
// next step, so the signal only makes the change take effect sooner.
func (s *Server) fanOut(ctx context.Context, sc store.FanOutScope, signal string, arg any) (store.FanOut, error) {
	payload, err := json.Marshal(arg)
	if err != nil {
		return store.FanOut{}, err
	}
	f, err := s.Store.CreateFanOut(ctx, sc, signal, payload)
	if err != nil {
		return f, err
	}
	return s.startFanOut(ctx, sc, f)
}

// startFanOut hands a recorded fan-out to its scope's FanOut workflow.
func (s *Server) startFanOut(ctx context.Context, sc store.FanOutScope, f store.FanOut) (store.FanOut, error) {
	var err error
	if f.Total == 0 {
		// Nobody to tell; enrolments created from now on read the
		// database at their gate.
		return s.Store.AdvanceFanOut(ctx, f.ID, 0, 0, 0, true)
	}
	id := workflows.ProgramFanOutWorkflowID(sc.ProgramID)
	if sc.ProgramID == 0 {
		id = workflows.CustomerFanOutWorkflowID(sc.CustomerID)
	}
	_, err = s.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalFanOut, f.ID,
		client.StartWorkflowOptions{ID: id, TaskQueue: workflows.ControlQueue(s.TaskQueue)}, workflows.WorkflowFanOut, workflows.FanOutInput{})
	return f, err
}
