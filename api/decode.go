package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxBody bounds every request body; larger bodies get 413.
const maxBody = 64 << 10

// maxDepth bounds how deeply a body nests objects and arrays; dangol's
// own requests need 4 levels.
const maxDepth = 32

// decode reads one JSON object, refusing unknown fields and trailing data,
// and names the offending field in the error. Every string in the body
// (keys too) is checked first, so no NUL or invalid UTF-8 reaches a handler.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeProblem(err)
	}
	if err := scanJSON(body); err != nil {
		return err
	}
	// encoding/json takes null for an empty object; a client that sends
	// it meant something else (PUT /v1/customers/x with null made a
	// customer of nothing).
	if string(bytes.TrimSpace(body)) == "null" {
		return badField("body", "must be a JSON object, not null")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return badField("body", "must hold a single JSON object")
	}
	return nil
}

// jsonFrame is an open object or array while scanning.
type jsonFrame struct {
	path    string
	array   bool
	index   int    // array: index of the next element
	key     string // object: key of the current member
	wantKey bool   // object: the next string is a key
}

// scanJSON walks the body's tokens and refuses strings that hold invalid
// UTF-8, a NUL (raw or \u0000) or a lone UTF-16 surrogate escape, and
// nesting deeper than maxDepth. encoding/json would silently turn the
// first and last into U+FFFD, and PostgreSQL refuses NUL in text and
// jsonb with an error, so they are caught here, named by their JSON path.
// Syntax errors are left to the decoder, which reports them.
func scanJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []jsonFrame
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			// A raw control character (NUL among them) in a string is a
			// syntax error; name the string's field rather than "body".
			if len(stack) > 0 && controlInString(body[prev:]) {
				field := valuePath(stack)
				if top := stack[len(stack)-1]; !top.array && top.wantKey {
					field = top.path
				}
				return badField(fieldOr(field, "body"), "contains a control character; escape it")
			}
			return nil
		}
		start, end := prev, dec.InputOffset()
		prev = end
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxDepth {
					return badField("body", fmt.Sprintf("nests deeper than %d levels", maxDepth))
				}
				stack = append(stack, jsonFrame{path: valuePath(stack), array: t == '[', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				valueDone(stack)
			}
		case string:
			top := len(stack) - 1
			isKey := top >= 0 && !stack[top].array && stack[top].wantKey
			field := valuePath(stack)
			if isKey {
				field = stack[top].path
			}
			// The token's raw bytes: only whitespace, ',' and ':' can
			// precede its opening quote since the previous token.
			raw := body[start:end]
			raw = raw[bytes.IndexByte(raw, '"'):]
			if p := rawStringProblem(raw); p != "" {
				if isKey {
					p = "a key " + p
				}
				return badField(fieldOr(field, "body"), p)
			}
			if isKey {
				stack[top].key, stack[top].wantKey = t, false
			} else {
				valueDone(stack)
			}
		default:
			valueDone(stack)
		}
	}
}

// controlInString reports whether rest, after separators, starts a string
// literal holding a raw control character.
func controlInString(rest []byte) bool {
	i := 0
	for i < len(rest) && strings.IndexByte(" \t\r\n,:", rest[i]) >= 0 {
		i++
	}
	if i == len(rest) || rest[i] != '"' {
		return false
	}
	for i++; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\\':
			i++
		case c == '"':
			return false
		case c < 0x20:
			return true
		}
	}
	return false
}

// valuePath is the JSON path of the value about to be read:
// "consent.sms.source", "params.touches[0].sms".
func valuePath(stack []jsonFrame) string {
	if len(stack) == 0 {
		return ""
	}
	f := stack[len(stack)-1]
	if f.array {
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	if f.path == "" {
		return f.key
	}
	return f.path + "." + f.key
}

func valueDone(stack []jsonFrame) {
	if len(stack) == 0 {
		return
	}
	f := &stack[len(stack)-1]
	if f.array {
		f.index++
	} else {
		f.wantKey = true
	}
}

func fieldOr(field, fallback string) string {
	if field == "" {
		return fallback
	}
	return field
}

// rawStringProblem checks a JSON string literal as it is in the body,
// quotes included; the tokenizer has already checked its syntax.
func rawStringProblem(raw []byte) string {
	if !utf8.Valid(raw) {
		return "is not valid UTF-8"
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' || i+4 >= len(raw) {
			continue
		}
		r := hex4(raw[i+1 : i+5])
		i += 4
		switch {
		case r == 0:
			return "contains a NUL character"
		case utf16.IsSurrogate(r):
			// A high surrogate is fine when a low one follows at once.
			if r < 0xDC00 && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo := hex4(raw[i+3 : i+7]); lo >= 0xDC00 && lo <= 0xDFFF {
					i += 6
					continue
				}
			}
			return "contains a lone UTF-16 surrogate (not valid Unicode)"
		}
	}
	return ""
}

func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil {
		return -1
	}
	return rune(n)
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
