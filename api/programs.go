package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"go.temporal.io/api/serviceerror"

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
	r.Post("/{id}/preview", s.previewProgram)
	r.Get("/{id}/report", s.getProgramReport)
	r.Get("/{id}/report.csv", s.getProgramReportCSV)
	return r
}

type programInput struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Params json.RawMessage `json:"params"`
}

type programResponse struct {
	store.Program
	// Broken says why the stored params cannot be read (the program is
	// skipped by purchases and sweeps until a PATCH repairs it).
	Broken     string         `json:"broken,omitempty"`
	Enrolments map[string]int `json:"enrolments"`
	// FanOut is the newest pause/resume/stop signal to the enrolments and
	// how far it has got.
	FanOut *store.FanOut `json:"fan_out,omitempty"`
}

// programListItem is a program in GET /v1/programs.
type programListItem struct {
	store.Program
	Broken string `json:"broken,omitempty"`
}

// decodeProgram reads a stored program's params. A program that cannot be
// read back is reported, never fatal: it must not take purchases, other
// programs or the listing down with it.
func decodeProgram(p store.Program) (programs.Params, error) {
	params, err := programs.Decode(p.Kind, p.Params)
	if err != nil {
		return nil, fmt.Errorf("stored params cannot be read: %w", err)
	}
	return params, nil
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
	if err := s.refuseLooserOverrides(r.Context(), in.Params); err != nil {
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

// syncSchedule is ensureSchedule from the stored program. A broken audience
// program's schedule (if any) is deleted when it stops and kept paused
// otherwise, since its sweep could not read the params either; the PATCH
// that repairs it brings the schedule back.
func (s *Server) syncSchedule(r *http.Request, p store.Program) error {
	params, err := decodeProgram(p)
	if err == nil {
		return s.ensureSchedule(r, p, params)
	}
	if empty, _ := programs.New(p.Kind); empty != nil {
		if _, ok := empty.(programs.Segment); !ok {
			return nil
		}
	}
	if p.Status == store.ProgramStopped {
		return schedules.DeleteSweep(r.Context(), s.Temporal, p.ID)
	}
	err = schedules.SetSweepPaused(r.Context(), s.Temporal, p.ID, true)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// updateProgram edits name and params. An edit of message texts only
// keeps the version (running enrolments use the new texts at their next
// send); a change of steps makes a new version, which new enrolments get
// while running ones finish on theirs.
func (s *Server) updateProgram(w http.ResponseWriter, r *http.Request) {
	cur, old, broken, ok := s.program(w, r)
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
	if broken != nil && in.Params == nil {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Conflict", Status: http.StatusConflict, Field: "params",
			Detail: "params: " + broken.Error() + "; send params to repair the program"})
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
	if err := s.refuseLooserOverrides(r.Context(), in.Params); err != nil {
		renderError(w, r, err)
		return
	}
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
	// A repaired program gets a new version: its steps are new to it.
	newVersion := broken != nil || !programs.SameSteps(old, params)
	p, err := s.Store.UpdateProgram(r.Context(), cur.ID, name, raw, newVersion)
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
	if k := q.Get("kind"); k != "" && !slices.Contains(programs.Kinds, k) {
		renderError(w, r, badField("kind", "must be one of "+strings.Join(programs.Kinds, ", ")))
		return
	}
	ps, err := s.Store.ListPrograms(r.Context(), q.Get("kind"), q.Get("status"))
	if err != nil {
		renderError(w, r, err)
		return
	}
	out := make([]programListItem, 0, len(ps))
	for _, p := range ps {
		v := programListItem{Program: p}
		if _, err := decodeProgram(p); err != nil {
			v.Broken = err.Error()
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"programs": out})
}

// program loads the program named in the path and decodes its params
// (broken says why they cannot be read); when !ok it has already answered.
func (s *Server) program(w http.ResponseWriter, r *http.Request) (p store.Program, params programs.Params, broken error, ok bool) {
	id, err := programID(r)
	if err != nil {
		renderError(w, r, err)
		return p, nil, nil, false
	}
	p, err = s.Store.Program(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		renderError(w, r, notFound("program"))
		return p, nil, nil, false
	} else if err != nil {
		renderError(w, r, err)
		return p, nil, nil, false
	}
	params, broken = decodeProgram(p)
	return p, params, broken, true
}

func programID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("program")
	}
	return id, nil
}

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) {
	p, _, broken, ok := s.program(w, r)
	if !ok {
		return
	}
	stats, err := s.Store.ProgramEnrolmentCounts(r.Context(), p.ID)
	if err != nil {
		renderError(w, r, err)
		return
	}
	out := programResponse{Program: p, Enrolments: stats}
	if broken != nil {
		out.Broken = broken.Error()
	}
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
	if err := s.syncSchedule(r, p); err != nil {
		renderError(w, r, unavailable(err))
		return
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
	p, params, broken, ok := s.program(w, r)
	if !ok {
		return
	}
	if broken != nil {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Conflict", Status: http.StatusConflict, Field: "params",
			Detail: "params: " + broken.Error() + "; repair the program with PATCH first"})
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
