package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *Server) callTaskRoutes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", s.listCallTasks)
	r.Post("/{id}/complete", s.completeCallTask)
	return r
}

func (s *Server) listCallTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.CallTaskFilter{Status: q.Get("status"), Store: q.Get("store")}
	switch f.Status {
	case "", domain.TaskOpen, domain.TaskCompleted, domain.TaskExpired, domain.TaskCancelled:
	default:
		renderError(w, r, badField("status", "must be open, completed, expired or cancelled"))
		return
	}
	if err := checkLength("store", f.Store, 200); err != nil {
		renderError(w, r, err)
		return
	}
	if v := q.Get("due_before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			renderError(w, r, badField("due_before", "must be an RFC 3339 time"))
			return
		}
		f.DueBefore = &t
	}
	tasks, err := s.Store.ListCallTasks(r.Context(), f)
	if err != nil {
		renderError(w, r, err)
		return
	}
	if tasks == nil {
		tasks = []store.CallTask{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"call_tasks": tasks})
}

type completeInput struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

// completeCallTask records the call in the database, then tells the
// enrolment; if the signal is lost, the enrolment reads the completion
// from the database when the call window closes.
func (s *Server) completeCallTask(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		renderError(w, r, notFound("call task"))
		return
	}
	var in completeInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	switch in.Outcome {
	case domain.OutcomeReached, domain.OutcomeNoAnswer, domain.OutcomeComplaint:
	default:
		renderError(w, r, badField("outcome", "must be reached, no_answer or complaint"))
		return
	}
	if err := checkLength("note", in.Note, 4000); err != nil {
		renderError(w, r, err)
		return
	}
	t, changed, err := s.Store.CompleteCallTask(r.Context(), id, in.Outcome, in.Note)
	switch err {
	case nil:
	case store.ErrNotFound:
		renderError(w, r, notFound("call task"))
		return
	case store.ErrConflict:
		renderError(w, r, conflict("call task is no longer open (expired, cancelled or completed with another outcome)"))
		return
	default:
		renderError(w, r, err)
		return
	}
	if changed && t.EnrolmentID != nil && t.Kind == domain.TaskHappyCall {
		if wfID, err := s.Store.EnrolmentWorkflowID(r.Context(), *t.EnrolmentID); err == nil {
			s.signal(r, wfID, workflows.SignalCallTaskCompleted, workflows.CallTaskCompleted{TaskID: t.ID, Outcome: in.Outcome})
		} else {
			s.logger().ErrorContext(r.Context(), "enrolment of call task", "task", t.ID, "error", err)
		}
	}
	writeJSON(w, http.StatusOK, t)
}
