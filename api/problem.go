package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

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
	// retryAfter, when set, goes out as the Retry-After header: the
	// request failed for a passing reason and repeating it will do.
	retryAfter time.Duration
}

func (p *Problem) Error() string { return p.Detail }

// retryUnavailable is the Retry-After of a 503 for a dependency that is
// down: a PostgreSQL or Temporal restart takes seconds.
const retryUnavailable = 2 * time.Second

// dbUnavailable is the answer while PostgreSQL cannot be reached or is
// restarting: nothing about the request is wrong, and every write is one
// transaction keyed by the client's ids, so repeating it is safe.
func dbUnavailable() *Problem {
	return &Problem{Type: "about:blank", Title: "Database unavailable", Status: http.StatusServiceUnavailable,
		Detail: "the database cannot be reached right now; repeat the same request shortly", retryAfter: retryUnavailable}
}

// unreachable reports whether err says the database cannot be reached,
// is restarting or dropped the connection, rather than anything about the
// request: a connect error, the pool closed, PostgreSQL's connection
// exception (class 08), shutdown and start-up codes, too many
// connections, or the connection breaking mid-query.
func unreachable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "57P01", "57P02", "57P03", "53300":
			// admin_shutdown, crash_shutdown, cannot_connect_now,
			// too_many_connections
			return true
		}
		return strings.HasPrefix(pg.Code, "08")
	}
	var connect *pgconn.ConnectError
	var netErr *net.OpError
	return errors.As(err, &connect) || errors.Is(err, puddle.ErrClosedPool) || errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || pgconn.SafeToRetry(err)
}

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
	case unreachable(err):
		slog.WarnContext(r.Context(), "database unavailable", "error", err, "route", metrics.Route(r), "request_id", middleware.GetReqID(r.Context()))
		p = dbUnavailable()
	default:
		slog.ErrorContext(r.Context(), "request failed", "error", err, "route", metrics.Route(r), "request_id", middleware.GetReqID(r.Context()))
		p = &Problem{Type: "about:blank", Title: "Internal error", Status: http.StatusInternalServerError,
			Detail: "request " + middleware.GetReqID(r.Context()) + " failed; see the server log"}
	}
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
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
