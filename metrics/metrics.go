// Package metrics is dangol's one Prometheus registry: HTTP requests,
// message sends, enrolments, fan-outs and the Temporal SDK's own client
// and worker metrics, served by Handler at /metrics.
//
// Label values are always from a closed set the code defines (route
// patterns, channels, purposes, statuses, kinds, outcomes, signal names),
// never an id or anything a customer or a store typed, so the number of
// series stays bounded and no personal data reaches a scrape.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every metric dangol exports. A package-level registry,
// because the activities, the API and the Temporal client each report to
// it and one process has one /metrics.
var Registry = prometheus.NewRegistry()

var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dangol_http_requests_total",
		Help: "HTTP requests served, by method, chi route pattern and status code.",
	}, []string{"method", "route", "status"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dangol_http_request_duration_seconds",
		Help:    "Time to serve an HTTP request, by method, chi route pattern and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "status"})
	messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dangol_messages_total",
		Help: "Messages that reached a final or held state in the send path, by channel, purpose and result (the message status).",
	}, []string{"channel", "purpose", "result"})
	enrolmentsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dangol_enrolments_started_total",
		Help: "Enrolments created, by program kind.",
	}, []string{"kind"})
	enrolmentsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dangol_enrolments_ended_total",
		Help: "Enrolments ended, by program kind and outcome.",
	}, []string{"kind", "outcome"})
	fanOutEnrolments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dangol_fanout_enrolments_total",
		Help: "Enrolments a fan-out reached, by signal and result (signalled, or ended: the workflow had finished).",
	}, []string{"signal", "result"})
	fanOutsDone = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dangol_fanouts_completed_total",
		Help: "Fan-outs that signalled their last page, by signal.",
	}, []string{"signal"})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		httpRequests, httpDuration, messages, enrolmentsStarted, enrolmentsEnded, fanOutEnrolments, fanOutsDone,
		temporalSeries,
	)
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// Unmatched is the route label of a request no route matched (404 and
// 405): its raw path could be anything, so it is not a label.
const Unmatched = "unmatched"

// HTTP is chi middleware counting each request under its route pattern.
// It must run inside the chi router: the pattern is known only after the
// router has matched the request, which is after next returns.
func HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		start := time.Now()
		next.ServeHTTP(ww, r)
		route, status := Route(r), strconv.Itoa(Status(ww))
		httpRequests.WithLabelValues(method(r.Method), route, status).Inc()
		httpDuration.WithLabelValues(method(r.Method), route, status).Observe(time.Since(start).Seconds())
	})
}

// Route is the chi route pattern a request matched, or Unmatched.
func Route(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return Unmatched
}

// Status is the status a wrapped writer sent: 200 when the handler wrote
// nothing.
func Status(ww middleware.WrapResponseWriter) int {
	if ww.Status() == 0 {
		return http.StatusOK
	}
	return ww.Status()
}

// method keeps the method label to the methods HTTP defines: a client
// may send any token as a method.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// Message records a message the send path brought to a final or held
// state.
func Message(channel, purpose, result string) {
	messages.WithLabelValues(channel, purpose, result).Inc()
}

// EnrolmentsStarted records n new enrolments in a program of the kind.
func EnrolmentsStarted(kind string, n int) {
	if n > 0 {
		enrolmentsStarted.WithLabelValues(kind).Add(float64(n))
	}
}

// EnrolmentEnded records an enrolment that ended with the outcome.
func EnrolmentEnded(kind, outcome string) {
	enrolmentsEnded.WithLabelValues(kind, outcome).Inc()
}

// FanOutPage records one page of a fan-out.
func FanOutPage(signal string, signalled, ended int, done bool) {
	fanOutEnrolments.WithLabelValues(signal, "signalled").Add(float64(signalled))
	fanOutEnrolments.WithLabelValues(signal, "ended").Add(float64(ended))
	if done {
		fanOutsDone.WithLabelValues(signal).Inc()
	}
}
