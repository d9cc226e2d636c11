package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
)

// maxParam bounds any one path or query parameter and form value before a
// handler looks at it; handlers then apply their own, tighter limits.
const maxParam = 1024

// textProblem says what is wrong with a value PostgreSQL's text cannot
// hold or no field of dangol's may contain: "" when it is fine.
func textProblem(v string, limit int) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	case strings.IndexByte(v, 0) >= 0:
		return "contains a NUL character"
	case limit > 0 && len(v) > limit:
		return "is too long"
	}
	return ""
}

// checkText is textProblem as a 400 naming field.
func checkText(field, v string, limit int) error {
	if p := textProblem(v, limit); p != "" {
		return badField(field, p)
	}
	return nil
}

// checkLength refuses values longer than max characters (runes), the unit
// a user counts in; v is already known to be valid UTF-8.
func checkLength(field, v string, max int) error {
	if utf8.RuneCountInString(v) > max {
		return badField(field, "longer than "+strconv.Itoa(max)+" characters")
	}
	return nil
}

// checkForm refuses form fields (names and values) that are not text.
func checkForm(form url.Values) error {
	for k, vs := range form {
		if p := textProblem(k, maxParam); p != "" {
			return badField("body", "a form field name "+p)
		}
		for _, v := range vs {
			if err := checkText(k, v, 64<<10); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkParams is middleware that refuses path and query parameters holding
// NUL, invalid UTF-8 or more than maxParam bytes with a 400 naming the
// parameter, before any handler (or SQL) sees them. Path parameter names
// come from the router itself, so a new route is covered as it is added.
func checkParams(mux *chi.Mux) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := paramsProblem(mux, r); err != nil {
				renderError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// paramField is the name a problem gives a path parameter: the API's
// spelling where the route's differs.
func paramField(name string) string {
	if name == "externalID" {
		return "externalId"
	}
	return name
}

func paramsProblem(mux *chi.Mux, r *http.Request) error {
	path := r.URL.Path
	if r.URL.RawPath != "" {
		path = r.URL.RawPath
	}
	rctx := chi.NewRouteContext()
	if mux.Find(rctx, r.Method, path) != "" {
		for i, name := range rctx.URLParams.Keys {
			if name == "*" {
				continue
			}
			v := rctx.URLParams.Values[i]
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			if err := checkText(paramField(name), v, maxParam); err != nil {
				return err
			}
		}
	}
	// Whatever the route, no segment may be other than text.
	if err := checkText("path", r.URL.Path, 8*maxParam); err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badField("query", "is not a valid query string")
	}
	for k, vs := range q {
		if p := textProblem(k, maxParam); p != "" {
			return badField("query", "a parameter name "+p)
		}
		for _, v := range vs {
			if err := checkText(k, v, maxParam); err != nil {
				return err
			}
		}
	}
	return nil
}
