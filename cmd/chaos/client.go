package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// apiStats is what the API answered while things broke.
type apiStats struct {
	mu sync.Mutex
	// unavailable counts 503s, withoutRetryAfter those of them without a
	// usable Retry-After, internal 500s (a defect: an outage must never
	// read as one), refused requests that found no dangol listening.
	unavailable, withoutRetryAfter, internal, refused int
	internalBodies                                    []string
}

func (s *apiStats) add(f func(*apiStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func jsonUnmarshal(raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding %.200s: %w", raw, err)
	}
	return nil
}

// call is an API request that waits out a restart: a 503 is repeated after
// its Retry-After, a refused connection after a second; a 4xx is the
// answer. Each 5xx is counted in c.stats.
func (c *chaos) call(method, path string, body, out any) error {
	raw, err := c.callRaw(method, path, body)
	if err != nil || out == nil {
		return err
	}
	return jsonUnmarshal(raw, out)
}

func (c *chaos) callRaw(method, path string, body any) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	var last error
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		req, err := http.NewRequest(method, c.api+path, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			last = err
			c.stats.add(func(s *apiStats) { s.refused++ })
			time.Sleep(time.Second)
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable:
			last = fmt.Errorf("%s %s: 503 %.300s", method, path, raw)
			wait := time.Second
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err == nil && secs > 0 && secs <= 60 {
				wait = time.Duration(secs) * time.Second
			}
			c.stats.add(func(s *apiStats) {
				s.unavailable++
				if err != nil || secs <= 0 {
					s.withoutRetryAfter++
				}
			})
			time.Sleep(wait)
			continue
		case resp.StatusCode >= 500:
			last = fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, raw)
			c.stats.add(func(s *apiStats) {
				s.internal++
				if len(s.internalBodies) < 5 {
					s.internalBodies = append(s.internalBodies, last.Error())
				}
			})
			time.Sleep(time.Second)
			continue
		case resp.StatusCode >= 400:
			return nil, fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, raw)
		}
		return raw, nil
	}
	return nil, fmt.Errorf("gave up after 3 minutes: %w", last)
}

// get reads a stand-in's JSON.
func get(url string, out any) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// post sends JSON to a stand-in's control endpoint.
func post(url string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := httpClient.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %s %s", url, resp.Status, b)
	}
	return nil
}
