package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Problem is an RFC 9457 problem+json body. Field names the request field
// at fault, so a client can point at it.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

func badField(field, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "Invalid request", Status: http.StatusBadRequest, Field: field, Detail: field + ": " + detail}
}

func unprocessable(field, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "Unprocessable request", Status: http.StatusUnprocessableEntity, Field: field, Detail: field + ": " + detail}
}

func conflict(detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "Conflict", Status: http.StatusConflict, Detail: detail}
}

func notFound(what string) *Problem {
	return &Problem{Type: "about:blank", Title: "Not found", Status: http.StatusNotFound, Detail: what + " not found"}
}

// renderError is the one place errors become responses: known problems
// keep their status, store sentinels map to 404/409, anything else is a
// 500 whose detail stays in the log.
func renderError(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var fe *programs.FieldError
	var ce *compliance.FieldError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &fe):
		p = badField(fe.Field, fe.Message)
	case errors.As(err, &ce):
		p = badField(ce.Field, ce.Detail)
	case errors.Is(err, store.ErrNotFound):
		p = notFound("resource")
	case errors.Is(err, store.ErrConflict):
		p = conflict("the request conflicts with the resource's current state")
	default:
		slog.ErrorContext(r.Context(), "request failed", "error", err, "route", metrics.Route(r), "request_id", middleware.GetReqID(r.Context()))
		p = &Problem{Type: "about:blank", Title: "Internal error", Status: http.StatusInternalServerError,
			Detail: "request " + middleware.GetReqID(r.Context()) + " failed; see the server log"}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
