package apidoc

import (
	"bytes"
	"encoding/json"
	"html"
	"html/template"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// methods in the order the page lists them.
var methods = []string{"get", "put", "post", "patch", "delete"}

type operation struct {
	Method, Path, Summary, Description, Tag string
	Anchor                                  string
	Public                                  bool
	Parameters                              []parameter
	Request                                 []content
	Responses                               []response
}

type parameter struct {
	Name, In, Description string
	Required              bool
	Schema                template.HTML
}

type content struct {
	Type   string
	Schema template.HTML
}

type response struct {
	Status, Description string
	Content             []content
}

type schema struct {
	Name   string
	Schema template.HTML
}

type view struct {
	Title, Version string
	Description    string
	Tags           []tagView
	Schemas        []schema
}

type tagView struct {
	Name, Description string
	Operations        []operation
}

type object = map[string]any

func str(o object, k string) string {
	s, _ := o[k].(string)
	return s
}

func obj(o object, k string) object {
	m, _ := o[k].(object)
	return m
}

var refPattern = regexp.MustCompile(`&#34;#/components/schemas/([A-Za-z0-9_]+)&#34;`)

// pretty shows a schema as indented JSON whose $refs link to the schema.
func pretty(v any) template.HTML {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return template.HTML(html.EscapeString(err.Error()))
	}
	escaped := html.EscapeString(string(b))
	return template.HTML(refPattern.ReplaceAllString(escaped, `<a href="#schema-$1">&#34;#/components/schemas/$1&#34;</a>`))
}

// resolve follows a $ref into components (parameters, responses).
func resolve(doc object, o object) object {
	ref := str(o, "$ref")
	if ref == "" {
		return o
	}
	cur := doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = obj(cur, part)
	}
	return cur
}

func contents(m object) []content {
	var out []content
	for _, t := range slices.Sorted(maps.Keys(m)) {
		out = append(out, content{Type: t, Schema: pretty(obj(m, t)["schema"])})
	}
	return out
}

func render(raw []byte) ([]byte, error) {
	var doc object
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	info := obj(doc, "info")
	v := view{Title: str(info, "title"), Version: str(info, "version"), Description: str(info, "description")}
	byTag := map[string]*tagView{}
	var order []string
	for _, t := range doc["tags"].([]any) {
		to := t.(object)
		name := str(to, "name")
		byTag[name] = &tagView{Name: name, Description: str(to, "description")}
		order = append(order, name)
	}
	paths := obj(doc, "paths")
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := obj(paths, p)
		var shared []any
		if ps, ok := item["parameters"].([]any); ok {
			shared = ps
		}
		for _, m := range methods {
			op := obj(item, m)
			if op == nil {
				continue
			}
			o := operation{Method: strings.ToUpper(m), Path: p, Summary: str(op, "summary"), Description: str(op, "description")}
			o.Anchor = "op-" + m + "-" + strings.NewReplacer("/", "-", "{", "", "}", "", ":", "-", ".", "-").Replace(strings.Trim(p, "/"))
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				o.Public = true
			}
			ps, _ := op["parameters"].([]any)
			for _, raw := range slices.Concat(shared, ps) {
				po := resolve(doc, raw.(object))
				req, _ := po["required"].(bool)
				o.Parameters = append(o.Parameters, parameter{Name: str(po, "name"), In: str(po, "in"), Description: str(po, "description"), Required: req, Schema: pretty(po["schema"])})
			}
			if rb := obj(op, "requestBody"); rb != nil {
				o.Request = contents(obj(rb, "content"))
			}
			rs := obj(op, "responses")
			for _, status := range slices.Sorted(maps.Keys(rs)) {
				ro := resolve(doc, obj(rs, status))
				o.Responses = append(o.Responses, response{Status: status, Description: str(ro, "description"), Content: contents(obj(ro, "content"))})
			}
			tag := "other"
			if ts, ok := op["tags"].([]any); ok && len(ts) > 0 {
				tag, _ = ts[0].(string)
			}
			if byTag[tag] == nil {
				byTag[tag] = &tagView{Name: tag}
				order = append(order, tag)
			}
			o.Tag = tag
			byTag[tag].Operations = append(byTag[tag].Operations, o)
		}
	}
	for _, name := range order {
		v.Tags = append(v.Tags, *byTag[name])
	}
	schemas := obj(obj(doc, "components"), "schemas")
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		v.Schemas = append(v.Schemas, schema{Name: name, Schema: pretty(schemas[name])})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var pageTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} reference</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;color:#222}
nav{width:19rem;height:100vh;overflow:auto;position:sticky;top:0;border-right:1px solid #ddd;padding:1rem;box-sizing:border-box;font-size:.85rem}
nav a{display:block;text-decoration:none;color:#224;padding:.1rem 0}
main{flex:1;padding:1rem 2rem;max-width:60rem}
section.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{font-family:monospace;font-weight:bold;display:inline-block;min-width:4rem}
.get{color:#067}.post{color:#070}.put{color:#850}.patch{color:#850}.delete{color:#900}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.8rem;max-height:30rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
.public{font-size:.75rem;background:#eef;padding:0 .3rem;border-radius:3px}
</style></head><body>
<nav><strong>{{.Title}} v{{.Version}}</strong><p><a href="/openapi.json">openapi.json</a></p>
{{range .Tags}}<p><strong>{{.Name}}</strong></p>{{range .Operations}}<a href="#{{.Anchor}}"><span class="m">{{.Method}}</span> {{.Path}}</a>{{end}}{{end}}
<p><strong>schemas</strong></p>{{range .Schemas}}<a href="#schema-{{.Name}}">{{.Name}}</a>{{end}}
</nav>
<main><h1>{{.Title}}</h1><pre style="white-space:pre-wrap;background:none">{{.Description}}</pre>
{{range .Tags}}<h2>{{.Name}}</h2>{{if .Description}}<p>{{.Description}}</p>{{end}}
{{range .Operations}}<section class="op" id="{{.Anchor}}">
<h3><span class="m">{{.Method}}</span> {{.Path}} {{if .Public}}<span class="public">no API key</span>{{end}}</h3>
<p>{{.Summary}}</p>{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Parameters}}<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>
{{range .Parameters}}<tr><td>{{.Name}}</td><td>{{.In}}</td><td>{{.Required}}</td><td><pre>{{.Schema}}</pre></td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Request}}<h4>Request body</h4>{{range .Request}}<p><code>{{.Type}}</code></p><pre>{{.Schema}}</pre>{{end}}{{end}}
<h4>Responses</h4>{{range .Responses}}<p><strong>{{.Status}}</strong> {{.Description}}</p>{{range .Content}}<p><code>{{.Type}}</code></p><pre>{{.Schema}}</pre>{{end}}{{end}}
</section>{{end}}{{end}}
<h2>Schemas</h2>{{range .Schemas}}<h3 id="schema-{{.Name}}">{{.Name}}</h3><pre>{{.Schema}}</pre>{{end}}
</main></body></html>
`))
