package programs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// ErrBroken is wrapped by Decode's errors: the stored params cannot be
// read back as a valid program. Callers report such a program as broken
// and skip it; it is never a client's mistake (Decode's errors are not
// *FieldError).
var ErrBroken = errors.New("stored program params cannot be read")

// ParseHappyCall reads a happy call's params as a marketer sends them
// (missing params take the 3.1.3.1 defaults), validates them and returns
// them normalised. Errors are *FieldError.
func ParseHappyCall(raw json.RawMessage) (HappyCall, error) {
	p, err := Parse(KindHappyCall, raw)
	if err != nil {
		return HappyCall{}, err
	}
	return *p.(*HappyCall), nil
}

// Parse reads params as a marketer sends them: unknown fields are refused,
// missing ones take the kind's defaults. It returns only params that
// read back: encoded, decoded with Decode and encoded again, they give
// the same bytes, so what the API stores is what every later reader gets.
// Errors are *FieldError naming the JSON path ("params.touches[1].offset").
func Parse(kind string, raw json.RawMessage) (Params, error) {
	p, ok := New(kind)
	if !ok {
		return nil, &FieldError{"kind", "unknown program kind; one of " + strings.Join(Kinds, ", ")}
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			if fe := locate(raw, reflect.TypeOf(p).Elem(), "params"); fe != nil {
				return nil, fe
			}
			return nil, jsonFieldError("params", err)
		}
	}
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	if err := checkMarketingSMS(p); err != nil {
		return nil, err
	}
	if err := storable(kind, p); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, &FieldError{"params", "cannot be stored: " + err.Error()}
	}
	return p, nil
}

// storable checks decode(encode(p)) == p, comparing encodings, and that
// PostgreSQL can hold the encoding (jsonb refuses NUL characters).
func storable(kind string, p Params) error {
	enc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal(enc, &tree); err != nil {
		return err
	}
	if path := nulPath(tree, "params"); path != "" {
		return &FieldError{path, "must not contain NUL characters"}
	}
	back, err := Decode(kind, enc)
	if err != nil {
		return err
	}
	again, err := json.Marshal(back)
	if err != nil {
		return err
	}
	if !bytes.Equal(enc, again) {
		return fmt.Errorf("they read back as %s", again)
	}
	return nil
}

// Decode reads params stored by dangol and checks them as Parse did:
// a stored program that no longer validates (stored before a bound
// existed, or edited in the database) is an error wrapping ErrBroken,
// never a program that runs with a different meaning.
func Decode(kind string, raw json.RawMessage) (Params, error) {
	p, ok := New(kind)
	if !ok {
		return nil, fmt.Errorf("%w: unknown program kind %q", ErrBroken, kind)
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("%w: %s params: %v", ErrBroken, kind, err)
	}
	if err := p.Normalize(); err != nil {
		return nil, fmt.Errorf("%w: %s params: %v", ErrBroken, kind, err)
	}
	return p, nil
}

// nulPath is the path of the first string in v (keys in order) holding
// a NUL character, or "".
func nulPath(v any, path string) string {
	switch t := v.(type) {
	case string:
		if strings.IndexByte(t, 0) >= 0 {
			return path
		}
	case []any:
		for i, x := range t {
			if p := nulPath(x, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if p := nulPath(t[k], path+"."+k); p != "" {
				return p
			}
		}
	}
	return ""
}

// jsonFieldError names the field encoding/json complained about.
func jsonFieldError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &FieldError{prefix + "." + te.Field, fmt.Sprintf("must be %s", te.Type)}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return &FieldError{prefix + "." + name, "unknown field"}
	}
	return &FieldError{prefix, strings.TrimPrefix(msg, "json: ")}
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// locate finds the first value in raw (in document order) that cannot be
// decoded into its place in t, and names it by its full JSON path with
// array indices. encoding/json reports a type error without indices and
// an Unmarshaler's error (a bad offset) without any path; this walk
// gives the marketer the exact field. It returns nil when it finds
// nothing, and mirrors encoding/json's rules: keys match fields exactly
// or else case-insensitively, embedded structs lend their fields, and
// null leaves a value alone.
func locate(raw json.RawMessage, t reflect.Type, path string) *FieldError {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return decodeLeaf(raw, t, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return locate(raw, t.Elem(), path)
	case reflect.Struct:
		members, err := objectMembers(raw)
		if err != nil {
			return &FieldError{path, "must be an object"}
		}
		fields := jsonFields(t)
		for _, m := range members {
			f, ok := fields[m.key]
			if !ok {
				for name, g := range fields {
					if strings.EqualFold(name, m.key) {
						f, ok = g, true
						break
					}
				}
			}
			if !ok {
				return &FieldError{path + "." + m.key, "unknown field"}
			}
			if fe := locate(m.value, f, path+"."+m.key); fe != nil {
				return fe
			}
		}
		return nil
	case reflect.Slice:
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return &FieldError{path, "must be an array"}
		}
		for i, e := range elems {
			if fe := locate(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); fe != nil {
				return fe
			}
		}
		return nil
	}
	return decodeLeaf(raw, t, path)
}

func decodeLeaf(raw json.RawMessage, t reflect.Type, path string) *FieldError {
	err := json.Unmarshal(raw, reflect.New(t).Interface())
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &FieldError{path, fmt.Sprintf("must be %s", te.Type)}
	}
	return &FieldError{path, err.Error()}
}

// jsonFields maps a struct's JSON names to their types, embedded structs'
// fields included.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n, ft := range jsonFields(f.Type) {
				out[n] = ft
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

type member struct {
	key   string
	value json.RawMessage
}

// objectMembers reads a JSON object's members in document order.
func objectMembers(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key, v})
	}
	return out, nil
}
