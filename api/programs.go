package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *Server) programRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.createProgram)
	r.Get("/", s.listPrograms)
	r.Get("/{id}", s.getProgram)
	r.Post("/{id}/{action:pause|resume|stop}", s.controlProgram)
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
}

func (s *Server) createProgram(w http.ResponseWriter, r *http.Request) {
	var in programInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		renderError(w, r, badField("name", "is required, at most 200 characters"))
		return
	}
	if !slices.Contains(programs.Kinds, in.Kind) {
		renderError(w, r, badField("kind", "unknown program kind; one of "+strings.Join(programs.Kinds, ", ")))
		return
	}
	hc, err := programs.ParseHappyCall(in.Params)
	if err != nil {
		renderError(w, r, err)
		return
	}
	params, err := json.Marshal(hc)
	if err != nil {
		renderError(w, r, err)
		return
	}
	p, err := s.Store.CreateProgram(r.Context(), in.Name, in.Kind, params)
	if err != nil {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, programResponse{Program: p, Enrolments: map[string]int{}})
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
	writeJSON(w, http.StatusOK, map[string]any{"programs": ps})
}

func programID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("program")
	}
	return id, nil
}

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) {
	id, err := programID(r)
	if err != nil {
		renderError(w, r, err)
		return
	}
	p, err := s.Store.Program(r.Context(), id)
	if err == store.ErrNotFound {
		renderError(w, r, notFound("program"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	stats, err := s.Store.ProgramEnrolmentCounts(r.Context(), id)
	if err != nil {
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, programResponse{Program: p, Enrolments: stats})
}

// controlProgram pauses, resumes or stops a program: the status is stored
// first (every enrolment re-reads it before its next touch), then each
// live enrolment is signalled so a stop ends it at once.
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
	switch err {
	case nil:
	case store.ErrNotFound:
		renderError(w, r, notFound("program"))
		return
	case store.ErrConflict:
		renderError(w, r, conflict("program is stopped; a stopped program cannot be resumed or paused"))
		return
	default:
		renderError(w, r, err)
		return
	}
	es, err := s.Store.LiveEnrolments(r.Context(), id)
	if err != nil {
		renderError(w, r, err)
		return
	}
	for _, e := range es {
		s.signal(r, e.WorkflowID, workflows.SignalControl, workflows.ControlSignal{Action: action})
	}
	writeJSON(w, http.StatusOK, map[string]any{"program": p, "signalled": len(es)})
}
