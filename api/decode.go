package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody bounds every request body; larger bodies get 413.
const maxBody = 64 << 10

// decode reads one JSON object, refusing unknown fields and trailing data,
// and names the offending field in the error.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return badField("body", "must hold a single JSON object")
	}
	return nil
}

func decodeProblem(err error) error {
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return &Problem{Type: "about:blank", Title: "Body too large", Status: http.StatusRequestEntityTooLarge, Field: "body",
			Detail: fmt.Sprintf("body: larger than %d bytes", mbe.Limit)}
	case errors.As(err, &te) && te.Field != "":
		return badField(te.Field, "must be "+jsonType(te.Type.Kind().String()))
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return badField("body", "is not valid JSON")
	case errors.Is(err, io.EOF):
		return badField("body", "is empty")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badField(name, "unknown field")
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return badField("body", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "float64":
		return "a number"
	}
	return "a " + kind
}
