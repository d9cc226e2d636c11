package programs

import (
	"errors"
	"fmt"
	"strings"
	"text/template/parse"
	"time"
	"unicode/utf8"
)

// Message templates are a deliberately small language, so no template a
// marketer types can cost more than its length to check or to render:
//
//	text with {{.Name}}, {{.Store}}, {{.Product}}, {{.Category}},
//	{{.Coupon}}, {{.CouponValue}}, {{.CouponExpires}}, {{.SurveyURL}},
//	{{.PurchasedAt}} (a date, 2027-01-31), {{date .PurchasedAt}} (the
//	same), {{kodate .PurchasedAt}} (2027년 1월 31일; also written
//	{{.PurchasedAt | kodate}}), and {{if .Field}}…{{else}}…{{end}} on
//	whether a field is set.
//
// The syntax is text/template's, parsed by its parser; everything else it
// knows (range, with, define, template, block, variables, comparisons,
// printf and the other built-in functions) is refused. Without loops the
// longest possible output is a static sum, which CheckTemplate bounds
// per Part before a template is stored and Render bounds again when it
// fills in real data.

// Part is where a rendered template goes; each has its own size bound.
type Part int

// Parts of a message.
const (
	PartSMS Part = iota + 1
	PartMailSubject
	PartMailBody
	PartCallScript
)

// Size bounds of rendered templates and of template sources.
const (
	// MaxSMSChars is Twilio's limit on a message body. Characters are
	// counted as UTF-16 code units (an emoji counts as 2), as an SMS
	// encodes them, so nothing accepted here is refused by the provider.
	MaxSMSChars = 1600
	// MaxMailSubjectChars bounds a mail subject, in characters: a name at
	// its longest (200) and 100 more, well inside a mail header line.
	MaxMailSubjectChars = 300
	// MaxMailBodyBytes bounds a mail body, in bytes of UTF-8.
	MaxMailBodyBytes = 64 << 10
	// MaxCallScriptChars bounds the script a call task shows staff, in
	// characters.
	MaxCallScriptChars = 4000
	// MaxTemplateBytes bounds any template's source.
	MaxTemplateBytes = 64 << 10
	// maxTemplateDepth bounds nested ifs.
	maxTemplateDepth = 16
)

// The longest value CheckTemplate assumes for each field. The API bounds
// what it stores by the same numbers (a customer's name to 200
// characters; store, product and category to 200 bytes), so a template
// that passes the check fits its part for every customer; a value longer
// than assumed (a long PublicBaseURL in a survey link, data from before
// the bounds) makes Render refuse rather than send an oversized message.
const (
	WorstNameChars      = 200
	WorstPurchaseBytes  = 200 // store, product, category
	WorstCouponChars    = 32
	WorstCouponValue    = 24 // "999,999,999,999.99 KRW"
	WorstSurveyURLBytes = 256
)

// worstData fills every field at its longest in every measure: a name of
// emoji (2 UTF-16 units, 4 bytes each), the rest ASCII at its byte bound.
var worstData = TemplateData{
	Name:          strings.Repeat("😀", WorstNameChars),
	Store:         strings.Repeat("x", WorstPurchaseBytes),
	Product:       strings.Repeat("x", WorstPurchaseBytes),
	Category:      strings.Repeat("x", WorstPurchaseBytes),
	PurchasedAt:   time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	Coupon:        strings.Repeat("X", WorstCouponChars),
	CouponValue:   strings.Repeat("9", WorstCouponValue),
	CouponExpires: "9999-12-31",
	SurveyURL:     strings.Repeat("x", WorstSurveyURLBytes),
}

// Max is the part's bound, in its unit (see Size).
func (p Part) Max() int {
	switch p {
	case PartSMS:
		return MaxSMSChars
	case PartMailSubject:
		return MaxMailSubjectChars
	case PartMailBody:
		return MaxMailBodyBytes
	case PartCallScript:
		return MaxCallScriptChars
	}
	return 0
}

// Size measures s as the part's bound counts: UTF-16 code units for an
// SMS, bytes for a mail body, characters otherwise.
func (p Part) Size(s string) int {
	switch p {
	case PartSMS:
		n := 0
		for _, r := range s {
			if r >= 0x10000 {
				n += 2
			} else {
				n++
			}
		}
		return n
	case PartMailBody:
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

func (p Part) String() string {
	switch p {
	case PartSMS:
		return "an SMS"
	case PartMailSubject:
		return "a mail subject"
	case PartMailBody:
		return "a mail body"
	case PartCallScript:
		return "a call script"
	}
	return fmt.Sprintf("part %d", int(p))
}

func (p Part) unit() string {
	switch p {
	case PartSMS:
		return "characters (an emoji counts as 2)"
	case PartMailBody:
		return "bytes"
	}
	return "characters"
}

// ErrTooLong is wrapped by the errors of templates whose output exceeds
// their part's bound.
var ErrTooLong = errors.New("too long")

// TemplateData is what message templates can use. It is filled at send
// time from the store, never from workflow input, so personal data stays
// out of workflow histories.
type TemplateData struct {
	Name     string
	Store    string
	Product  string
	Category string
	// PurchasedAt renders as its date in its location.
	PurchasedAt time.Time
	// Coupon is the code; CouponValue ("10,000원", "10%") and
	// CouponExpires (a local date) describe it.
	Coupon        string
	CouponValue   string
	CouponExpires string
	// SurveyURL is the link that records why a customer left.
	SurveyURL string
}

// templateFields are the fields a template may name.
var templateFields = map[string]func(*TemplateData) any{
	"Name":          func(d *TemplateData) any { return d.Name },
	"Store":         func(d *TemplateData) any { return d.Store },
	"Product":       func(d *TemplateData) any { return d.Product },
	"Category":      func(d *TemplateData) any { return d.Category },
	"PurchasedAt":   func(d *TemplateData) any { return d.PurchasedAt },
	"Coupon":        func(d *TemplateData) any { return d.Coupon },
	"CouponValue":   func(d *TemplateData) any { return d.CouponValue },
	"CouponExpires": func(d *TemplateData) any { return d.CouponExpires },
	"SurveyURL":     func(d *TemplateData) any { return d.SurveyURL },
}

// templateFuncs format a time field.
var templateFuncs = map[string]func(time.Time) string{
	"date":   func(t time.Time) string { return t.Format(time.DateOnly) },
	"kodate": func(t time.Time) string { return t.Format("2006년 1월 2일") },
}

// parseFuncs tells the parser which function names exist (it needs
// non-nil values).
var parseFuncs = func() map[string]any {
	m := map[string]any{}
	for name := range templateFuncs {
		m[name] = true
	}
	return m
}()

// tnode is one node of a checked template: text, a field (optionally
// formatted) or an if on a field.
type tnode struct {
	text  string
	field string // set for a field or an if
	fn    string // formatting function of a field
	isIf  bool
	then  []tnode
	els   []tnode
}

// compileTemplate parses text and keeps only what the language allows.
func compileTemplate(text string) ([]tnode, error) {
	if len(text) > MaxTemplateBytes {
		return nil, fmt.Errorf("template is longer than %d bytes", MaxTemplateBytes)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return nil, errors.New("template must not contain NUL characters")
	}
	if !strings.Contains(text, "{{") {
		return []tnode{{text: text}}, nil
	}
	trees, err := parse.Parse("msg", text, "{{", "}}", parseFuncs)
	if err != nil {
		return nil, fmt.Errorf("template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	for name := range trees {
		if name != "msg" {
			return nil, errors.New("template: define and block are not allowed")
		}
	}
	t := trees["msg"]
	if t == nil || t.Root == nil {
		return nil, nil
	}
	return compileList(t.Root, 0)
}

func compileList(l *parse.ListNode, depth int) ([]tnode, error) {
	if l == nil {
		return nil, nil
	}
	var out []tnode
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			out = append(out, tnode{text: string(n.Text)})
		case *parse.CommentNode:
		case *parse.ActionNode:
			x, err := compileAction(n.Pipe)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		case *parse.IfNode:
			if depth >= maxTemplateDepth {
				return nil, fmt.Errorf("template: ifs nest at most %d deep", maxTemplateDepth)
			}
			field, err := conditionField(n.Pipe)
			if err != nil {
				return nil, err
			}
			then, err := compileList(n.List, depth+1)
			if err != nil {
				return nil, err
			}
			els, err := compileList(n.ElseList, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, tnode{isIf: true, field: field, then: then, els: els})
		default:
			return nil, fmt.Errorf("template: %s is not allowed; use text, fields such as {{.Name}}, date or kodate, and {{if .Field}}…{{end}}", describeNode(n))
		}
	}
	return out, nil
}

func describeNode(n parse.Node) string {
	switch n.(type) {
	case *parse.RangeNode:
		return "range"
	case *parse.WithNode:
		return "with"
	case *parse.TemplateNode:
		return "template"
	case *parse.BreakNode:
		return "break"
	case *parse.ContinueNode:
		return "continue"
	}
	return fmt.Sprintf("%q", n.String())
}

// fieldOf returns the name of a field reference such as .Name.
func fieldOf(arg parse.Node) (string, error) {
	f, ok := arg.(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return "", fmt.Errorf("template: %q is not allowed; name a field such as {{.Name}}", arg.String())
	}
	if templateFields[f.Ident[0]] == nil {
		return "", fmt.Errorf("template: unknown field %s; known: .Name, .Store, .Product, .Category, .PurchasedAt, .Coupon, .CouponValue, .CouponExpires, .SurveyURL", f.String())
	}
	return f.Ident[0], nil
}

func simplePipe(p *parse.PipeNode) error {
	if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) == 0 {
		return errors.New("template: variables are not allowed")
	}
	return nil
}

// conditionField reads the pipeline of an if: one field.
func conditionField(p *parse.PipeNode) (string, error) {
	if err := simplePipe(p); err != nil {
		return "", err
	}
	if len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return "", fmt.Errorf("template: if %s: test one field, such as {{if .Coupon}}", p.String())
	}
	return fieldOf(p.Cmds[0].Args[0])
}

// compileAction reads {{.Field}}, {{fn .Field}} or {{.Field | fn}}.
func compileAction(p *parse.PipeNode) (tnode, error) {
	if err := simplePipe(p); err != nil {
		return tnode{}, err
	}
	bad := fmt.Errorf("template: {{%s}} is not allowed; use a field such as {{.Name}}, or {{date .PurchasedAt}}", p.String())
	var field, fn string
	var err error
	first := p.Cmds[0].Args
	switch {
	case len(first) == 1:
		if field, err = fieldOf(first[0]); err != nil {
			return tnode{}, err
		}
	case len(first) == 2 && len(p.Cmds) == 1:
		id, ok := first[0].(*parse.IdentifierNode)
		if !ok {
			return tnode{}, bad
		}
		fn = id.Ident
		if field, err = fieldOf(first[1]); err != nil {
			return tnode{}, err
		}
	default:
		return tnode{}, bad
	}
	if len(p.Cmds) > 2 {
		return tnode{}, bad
	}
	if len(p.Cmds) == 2 {
		args := p.Cmds[1].Args
		id, ok := args[0].(*parse.IdentifierNode)
		if len(args) != 1 || !ok {
			return tnode{}, bad
		}
		fn = id.Ident
	}
	if fn != "" {
		if templateFuncs[fn] == nil {
			return tnode{}, fmt.Errorf("template: unknown function %s; known: date, kodate", fn)
		}
		if _, isTime := templateFields[field](&worstData).(time.Time); !isTime {
			return tnode{}, fmt.Errorf("template: %s formats a time, such as .PurchasedAt, not .%s", fn, field)
		}
	}
	return tnode{field: field, fn: fn}, nil
}

// value renders one field.
func (n tnode) value(d *TemplateData) string {
	switch v := templateFields[n.field](d).(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		if n.fn == "" {
			return templateFuncs["date"](v)
		}
		return templateFuncs[n.fn](v)
	case string:
		return v
	}
	return ""
}

func (n tnode) set(d *TemplateData) bool {
	switch v := templateFields[n.field](d).(type) {
	case time.Time:
		return !v.IsZero()
	case string:
		return v != ""
	}
	return false
}

// worst is the longest output of nodes in the part's measure.
func worst(nodes []tnode, p Part) int {
	n := 0
	for _, x := range nodes {
		switch {
		case x.isIf:
			n += max(worst(x.then, p), worst(x.els, p))
		case x.field != "":
			n += p.Size(x.value(&worstData))
		default:
			n += p.Size(x.text)
		}
	}
	return n
}

// CheckTemplate tells whether text is a template of the language above
// whose output, with every field at its longest (see WorstNameChars and
// the constants after it) and every if taking its longer branch, fits
// the part. It costs time linear in the template's length.
func CheckTemplate(text string, p Part) error {
	return checkTemplateWithin(text, p, p.Max())
}

// checkTemplateWithin is CheckTemplate with a tighter bound than the
// part's own (a marketing SMS leaves room for what the engine adds).
func checkTemplateWithin(text string, p Part, limit int) error {
	nodes, err := compileTemplate(text)
	if err != nil {
		return err
	}
	if n := worst(nodes, p); n > limit {
		return fmt.Errorf("%w: can render up to %d %s with every field at its longest (a name of %d characters; a store, product or category of %d), and %s is at most %d",
			ErrTooLong, n, p.unit(), WorstNameChars, WorstPurchaseBytes, p, limit)
	}
	return nil
}

// Render fills in a message template, refusing one the language does not
// allow or whose output exceeds the part's bound.
func Render(text string, data TemplateData, p Part) (string, error) {
	nodes, err := compileTemplate(text)
	if err != nil {
		return "", err
	}
	r := renderer{data: &data, part: p}
	if !r.list(nodes) {
		return "", fmt.Errorf("template: %w: the rendered text is over %d %s, the most %s may have", ErrTooLong, p.Max(), p.unit(), p)
	}
	return r.b.String(), nil
}

type renderer struct {
	data *TemplateData
	part Part
	b    strings.Builder
	size int
}

// list writes nodes, stopping as soon as the output exceeds the bound.
func (r *renderer) list(nodes []tnode) bool {
	for _, x := range nodes {
		var s string
		switch {
		case x.isIf:
			branch := x.els
			if x.set(r.data) {
				branch = x.then
			}
			if !r.list(branch) {
				return false
			}
			continue
		case x.field != "":
			s = x.value(r.data)
		default:
			s = x.text
		}
		if r.size += r.part.Size(s); r.size > r.part.Max() {
			return false
		}
		r.b.WriteString(s)
	}
	return true
}
