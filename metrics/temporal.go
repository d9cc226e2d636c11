package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// The Temporal SDK reports through client.MetricsHandler. Its documented
// Prometheus bridge, go.temporal.io/sdk/contrib/tally, is not on the module
// proxy, so this small adapter feeds the SDK's counters, gauges and timers
// into Registry directly. The SDK names a metric and adds tags as it goes
// (namespace, task_queue, workflow_type, activity_type, operation, …): the
// tag keys of one name differ between call sites, which a fixed-label
// prometheus.*Vec cannot take, so each name+tags is its own series of an
// unchecked collector. Tags are the SDK's own (type and queue names), a
// bounded set. Timers become histograms in seconds, named <name>_seconds.

// TemporalHandler is the client.MetricsHandler to pass in client.Options
// so the SDK's client and worker metrics reach Registry.
func TemporalHandler() client.MetricsHandler { return temporalHandler{} }

type temporalHandler struct{ tags map[string]string }

func (h temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return temporalHandler{merged}
}

func (h temporalHandler) Counter(name string) client.MetricsCounter {
	c := temporalSeries.get(name, h.tags, func(o prometheus.Opts) prometheus.Collector {
		return prometheus.NewCounter(prometheus.CounterOpts(o))
	}).(prometheus.Counter)
	return counter{c}
}

func (h temporalHandler) Gauge(name string) client.MetricsGauge {
	g := temporalSeries.get(name, h.tags, func(o prometheus.Opts) prometheus.Collector {
		return prometheus.NewGauge(prometheus.GaugeOpts(o))
	}).(prometheus.Gauge)
	return gauge{g}
}

func (h temporalHandler) Timer(name string) client.MetricsTimer {
	hist := temporalSeries.get(name+"_seconds", h.tags, func(o prometheus.Opts) prometheus.Collector {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: o.Name, Help: o.Help, ConstLabels: o.ConstLabels,
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}})
	}).(prometheus.Histogram)
	return timer{hist}
}

type counter struct{ c prometheus.Counter }

// Inc ignores a negative delta: a Prometheus counter only goes up.
func (c counter) Inc(d int64) {
	if d > 0 {
		c.c.Add(float64(d))
	}
}

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }

type timer struct{ h prometheus.Histogram }

func (t timer) Record(d time.Duration) { t.h.Observe(d.Seconds()) }

// series is the unchecked collector of the SDK's metrics.
type series struct {
	mu  sync.Mutex
	all map[string]prometheus.Collector
}

var temporalSeries = &series{all: map[string]prometheus.Collector{}}

func (s *series) get(name string, tags map[string]string, make func(prometheus.Opts) prometheus.Collector) prometheus.Collector {
	name = sanitize(name)
	keys := slices.Sorted(maps.Keys(tags))
	var id strings.Builder
	id.WriteString(name)
	labels := prometheus.Labels{}
	for _, k := range keys {
		l := sanitize(k)
		labels[l] = tags[k]
		id.WriteString("\xff" + l + "\xfe" + tags[k])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.all[id.String()]; ok {
		return c
	}
	c := make(prometheus.Opts{Name: name, Help: "Temporal SDK metric " + name + ".", ConstLabels: labels})
	s.all[id.String()] = c
	return c
}

// Describe sends nothing: the collector is unchecked, its series appear
// as the SDK creates them.
func (s *series) Describe(chan<- *prometheus.Desc) {}

func (s *series) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	cs := slices.Collect(maps.Values(s.all))
	s.mu.Unlock()
	for _, c := range cs {
		c.Collect(ch)
	}
}

// sanitize makes a metric or label name of the SDK's valid in Prometheus
// (letters, digits, underscores); the SDK's names already are.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
