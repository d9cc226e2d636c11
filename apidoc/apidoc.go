// Package apidoc holds dangol's API contract: an OpenAPI 3.1 document
// written by hand (openapi.yaml), served as JSON at /openapi.json, and a
// reference page rendered from it at /docs.
//
// The page is rendered on the server from the document, with no script
// and nothing fetched from elsewhere: it works where the operator's
// network reaches no CDN, and a page on the API's own origin runs no
// third-party code.
package apidoc

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var source []byte

// YAML is the document as written.
func YAML() []byte { return source }

var document = sync.OnceValues(func() ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(source, &v); err != nil {
		return nil, fmt.Errorf("apidoc: openapi.yaml: %w", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		// A mapping key that is not a string (an unquoted status code).
		return nil, fmt.Errorf("apidoc: openapi.yaml as JSON: %w", err)
	}
	return out, nil
})

// JSON returns the document as JSON.
func JSON() ([]byte, error) { return document() }

// ServeJSON answers GET /openapi.json.
func ServeJSON(w http.ResponseWriter, _ *http.Request) {
	doc, err := JSON()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(doc)
}

var page = sync.OnceValues(func() ([]byte, error) {
	doc, err := JSON()
	if err != nil {
		return nil, err
	}
	return render(doc)
})

// ServeDocs answers GET /docs.
func ServeDocs(w http.ResponseWriter, _ *http.Request) {
	html, err := page()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	_, _ = w.Write(html)
}
