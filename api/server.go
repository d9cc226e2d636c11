// Package api is dangol's REST API: resources under /v1 (bearer key),
// provider webhooks under /webhooks (provider signatures), and health.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/apidoc"
	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/store"
)

// Server holds what handlers need.
type Server struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	// TwilioAuthToken verifies status callback signatures.
	TwilioAuthToken string
	// PublicBaseURL is the URL providers call us on; signatures cover it.
	PublicBaseURL string
	// LinkSecret verifies the links customers follow (unsubscribe).
	LinkSecret []byte
	Logger     *slog.Logger
	// Metrics, when set, is served unauthenticated at /metrics (like
	// /healthz); dangol serve sets it unless METRICS_ADDR moves it to a
	// listener of its own.
	Metrics http.Handler
}

// Handler builds the router.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.logRequests)
	r.Use(metrics.HTTP)
	r.Use(middleware.Recoverer)
	r.Use(limitBody)
	r.Use(checkParams(r))

	r.NotFound(func(w http.ResponseWriter, r *http.Request) { renderError(w, r, notFound("route "+r.URL.Path)) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Method not allowed", Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed on " + r.URL.Path})
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", s.ready)
	if s.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.Metrics)
	}
	r.Get("/openapi.json", apidoc.ServeJSON)
	r.Get("/docs", apidoc.ServeDocs)
	r.Post("/webhooks/twilio/status", s.twilioStatus)
	r.Post("/webhooks/twilio/inbound", s.twilioInbound)
	r.Get("/s/{token}", s.surveyForm)
	r.Post("/s/{token}", s.surveyAnswer)
	r.Get("/u/{token}", s.unsubscribeForm)
	r.Post("/u/{token}", s.unsubscribe)
	r.Get("/p/{token}", s.preferencesForm)
	r.Post("/p/{token}", s.preferencesSave)

	r.Route("/v1", func(r chi.Router) {
		r.Use(s.authenticate)
		r.Mount("/customers", s.customerRoutes())
		r.Mount("/purchases", s.purchaseRoutes())
		r.Mount("/programs", s.programRoutes())
		r.Mount("/programs:preview", s.draftPreviewRoutes())
		r.Mount("/programs:forecast", s.draftForecastRoutes())
		r.Mount("/call-tasks", s.callTaskRoutes())
		r.Mount("/coupons", s.couponRoutes())
		r.Mount("/audiences:preview", s.audienceRoutes())
		r.Mount("/settings", s.settingsRoutes())
		r.Mount("/consents:due", s.consentRoutes())
		r.Mount("/opt-outs", s.optOutRoutes())
	})
	return r
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxBody)
		if strings.TrimSuffix(r.URL.Path, "/") == "/v1/opt-outs" {
			// An 080 list of up to maxOptOutRows rows.
			limit = maxOptOutBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request under its route pattern, never its raw
// path: paths carry customers' external ids and link tokens.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		s.logger().LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", r.Method), slog.String("route", metrics.Route(r)), slog.Int("status", metrics.Status(ww)),
			slog.Int64("duration_ms", time.Since(start).Milliseconds()), slog.String("request_id", middleware.GetReqID(r.Context())))
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

type ctxKey struct{ name string }

var apiKeyNameKey = ctxKey{"api-key-name"}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		key = strings.TrimSpace(key)
		w.Header().Set("WWW-Authenticate", `Bearer realm="dangol"`)
		if !strings.EqualFold(scheme, "Bearer") || key == "" {
			renderError(w, r, &Problem{Type: "about:blank", Title: "Unauthorized", Status: http.StatusUnauthorized,
				Detail: "send an API key as Authorization: Bearer <key>"})
			return
		}
		name, err := s.Store.APIKeyName(r.Context(), key)
		if err == store.ErrNotFound {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dangol", error="invalid_token"`)
			renderError(w, r, &Problem{Type: "about:blank", Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "unknown or revoked API key"})
			return
		}
		if err != nil {
			renderError(w, r, err)
			return
		}
		w.Header().Del("WWW-Authenticate")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiKeyNameKey, name)))
	})
}

// ready reports whether dangol can do its work: both PostgreSQL and
// Temporal must answer.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.Store.Ping(ctx); err != nil {
		checks["postgres"], status = err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = err.Error(), http.StatusServiceUnavailable
	}
	writeJSON(w, status, checks)
}
