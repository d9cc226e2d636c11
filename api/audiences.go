package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/audience"
	"github.com/dangol/dangol/store"
)

// audienceRoutes is mounted at /v1/audiences:preview.
func (s *Server) audienceRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.previewAudience)
	return r
}

type previewInput struct {
	Audience *audience.Filter `json:"audience"`
}

type previewOutput struct {
	Count  int64            `json:"count"`
	Sample []store.Customer `json:"sample"`
}

// previewAudience answers "how many customers would this filter select,
// and who are they?" before a marketer starts a program with it: the
// count and the first customers by id.
func (s *Server) previewAudience(w http.ResponseWriter, r *http.Request) {
	var in previewInput
	if err := decode(r, &in); err != nil {
		renderError(w, r, err)
		return
	}
	if in.Audience == nil {
		renderError(w, r, badField("audience", "is required (an empty object selects everyone)"))
		return
	}
	count, sample, err := s.Store.PreviewAudience(r.Context(), *in.Audience, time.Now())
	if err != nil {
		// An invalid filter is the client's: PreviewAudience validates it
		// before any SQL runs.
		var fe *audience.FieldError
		if errors.As(err, &fe) {
			err = badField(fe.Field, fe.Message)
		}
		renderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, previewOutput{Count: count, Sample: sample})
}
