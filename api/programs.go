package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *Server) programRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.createProgram)
	r.Get("/", s.listPrograms)
	r.Get("/{id}", s.getProgram)
	r.Patch("/{id}", s.updateProgram)
	r.Post("/{id}/{action:pause|resume|stop}", s.controlProgram)
	r.Post("/{id}/sweep", s.sweepNow)
	return r
}

type programInput struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Params json.RawMessage `json:"params"`
}

type programResponse struct {
	store.Program
	Enrolments map[string]int `json:"enrolments"`
	// FanOut is the newest pause/resume/stop signal to the enrolments and
	// how far it has got.
	FanOut *store.FanOut `json:"fan_out,omitempty"`
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return "", badField("name", "is required, at most 200 characters")
	}
	return name, nil
}

// createProgram stores the program, then (for audience programs) creates
// its enrolment schedule. If Temporal is down, the program exists and the
// schedule is created at the next start-up of dangol, or by repeating the
// request's effect with PATCH.
func (s *Server) createProgram(w http.ResponseWriter, r *http.Request) {
	var in programInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	name, err := validName(in.Name)
	if err != nil {
		renderError(w, r, err)
		return
	}
	params, err := programs.Parse(in.Kind, in.Params)
	if err != nil {
		renderError(w, r, err)
		return
	}
	raw, err := json.Marshal(params)
	if err != nil {
		renderError(w, r, err)
		return
	}
	p, err := s.Store.CreateProgram(r.Context(), name, in.Kind, raw)
	if err != nil {
		renderError(w, r, err)
		return
	}
	if err := s.ensureSchedule(r, p, params); err != nil {
		renderError(w, r, unavailable(err))
		return
	}
	writeJSON(w, http.StatusCreated, programResponse{Program: p, Enrolments: map[string]int{}})
}

// ensureSchedule keeps an audience program's schedule in line with it.
func (s *Server) ensureSchedule(r *http.Request, p store.Program, params programs.Params) error {
	seg, ok := params.(programs.Segment)
	if !ok {
		return nil
	}
	if p.Status == store.ProgramStopped {
		return schedules.DeleteSweep(r.Context(), s.Temporal, p.ID)
	}
	return schedules.EnsureSweep(r.Context(), s.Temporal, s.TaskQueue, p.ID, seg.SweepSettings(), p.Status == store.ProgramPaused)
}

// updateProgram edits name and params. An edit of message texts only
// keeps the version (running enrolments use the new texts at their next
// send); a change of steps makes a new version, which new enrolments get
// while running ones finish on theirs.
func (s *Server) updateProgram(w http.ResponseWriter, r *http.Request) {
	cur, old, ok := s.program(w, r)
	if !ok {
		return
	}
	var in struct {
		Name   *string         `json:"name"`
		Params json.RawMessage `json:"params"`
	}
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	name := cur.Name
	var err error
	if in.Name != nil {
		if name, err = validName(*in.Name); err != nil {
			renderError(w, r, err)
			return
		}
	}
	params := old
	if in.Params != nil {
		if params, err = programs.Parse(cur.Kind, in.Params); err != nil {
			renderError(w, r, err)
			return
		}
	}
	raw, err := json.Marshal(params)
	if err != nil {
		renderError(w, r, err)
		return
	}
	p, err := s.Store.UpdateProgram(r.Context(), cur.ID, name, raw, !programs.SameSteps(old, params))
	if errors.Is(err, store.ErrConflict) {
		renderError(w, r, conflict("program is stopped; a stopped program cannot be edited"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	if err := s.ensureSchedule(r, p, params); err != nil {
		renderError(w, r, unavailable(err))
		return
	}
	writeJSON(w, http.StatusOK, programResponse{Program: p})
}

func (s *Server) listPrograms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if st := q.Get("status"); st != "" && st != store.ProgramActive && st != store.ProgramPaused && st != store.ProgramStopped {
		renderError(w, r, badField("status", "must be active, paused or stopped"))
		return
	}
	ps, err := s.Store.ListPrograms(r.Context(), q.Get("kind"), q.Get("status"))
	if err != nil {
		renderError(w, r, err)
		return
	}
	if ps == nil {
		ps = []store.Program{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"programs": ps})
}

// program loads the program named in the path and decodes its params; on
// failure it has already answered.
func (s *Server) program(w http.ResponseWriter, r *http.Request) (store.Program, programs.Params, bool) {
	id, err := programID(r)
	if err != nil {
		renderError(w, r, err)
		return store.Program{}, nil, false
	}
	p, err := s.Store.Program(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		renderError(w, r, notFound("program"))
		return p, nil, false
	} else if err != nil {
		renderError(w, r, err)
		return p, nil, false
	}
	params, err := programs.Decode(p.Kind, p.Params)
	if err != nil {
		renderError(w, r, err)
		return p, nil, false
	}
	return p, params, true
}

func programID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("program")
	}
	return id, nil
}

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.program(w, r)
	if !ok {
		return
	}
	stats, err := s.Store.ProgramEnrolmentCounts(r.Context(), p.ID)
	if err != nil {
		renderError(w, r, err)
		return
	}
	out := programResponse{Program: p, Enrolments: stats}
	if f, err := s.Store.LatestProgramFanOut(r.Context(), p.ID); err == nil {
		out.FanOut = &f
	} else if !errors.Is(err, store.ErrNotFound) {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// controlProgram pauses, resumes or stops a program: the status is stored
// first (every enrolment re-reads it before its next step), then the
// enrolment schedule follows, then a background fan-out signals each live
// enrolment so a stop ends it at once. It answers 202 with the fan-out,
// whose progress GET /v1/programs/{id} shows.
func (s *Server) controlProgram(w http.ResponseWriter, r *http.Request) {
	id, err := programID(r)
	if err != nil {
		renderError(w, r, err)
		return
	}
	action := chi.URLParam(r, "action")
	status := map[string]string{
		workflows.ActionPause: store.ProgramPaused, workflows.ActionResume: store.ProgramActive, workflows.ActionStop: store.ProgramStopped,
	}[action]
	p, err := s.Store.SetProgramStatus(r.Context(), id, status)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		renderError(w, r, notFound("program"))
		return
	case errors.Is(err, store.ErrConflict):
		renderError(w, r, conflict("program is stopped; a stopped program cannot be resumed or paused"))
		return
	default:
		renderError(w, r, err)
		return
	}
	if params, err := programs.Decode(p.Kind, p.Params); err == nil {
		if err := s.ensureSchedule(r, p, params); err != nil {
			renderError(w, r, unavailable(err))
			return
		}
	} else if status == store.ProgramStopped {
		// A program whose params no longer decode still has its
		// schedule removed, so it stops enrolling.
		if err := schedules.DeleteSweep(r.Context(), s.Temporal, p.ID); err != nil {
			renderError(w, r, unavailable(err))
			return
		}
	}
	f, err := s.fanOut(r.Context(), store.FanOutScope{ProgramID: p.ID}, workflows.SignalControl, workflows.ControlSignal{Action: action})
	if err != nil {
		renderError(w, r, unavailable(err))
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"program": p, "fan_out": f})
}

// sweepNow enrols an audience program's audience now instead of at its
// next scheduled hour.
func (s *Server) sweepNow(w http.ResponseWriter, r *http.Request) {
	p, params, ok := s.program(w, r)
	if !ok {
		return
	}
	if _, ok := params.(programs.Segment); !ok {
		renderError(w, r, conflict("a "+p.Kind+" program enrols from purchases, not by audience"))
		return
	}
	if p.Status != store.ProgramActive {
		renderError(w, r, conflict("program is "+p.Status))
		return
	}
	if err := schedules.TriggerSweep(r.Context(), s.Temporal, p.ID); err != nil {
		renderError(w, r, unavailable(err))
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"program_id": p.ID, "sweep": "started"})
}
