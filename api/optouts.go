package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nyaruka/phonenumbers"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// An 080 opt-out list is what the carrier or vendor running the free
// opt-out number (무료수신거부 080-...) delivers: the numbers that called,
// when, and through which line. POST /v1/opt-outs applies one.
const (
	// maxOptOutRows bounds one list; a vendor's daily file is far
	// smaller, and a bigger backlog goes in several requests.
	maxOptOutRows = 10_000
	// maxOptOutBody bounds the request body (10,000 JSON rows are about
	// 750 KB).
	maxOptOutBody = 1 << 20
	// maxOptOutSource bounds a row's source, in characters.
	maxOptOutSource = 100
	// maxOptOutPhone bounds what is looked at of a row's phone.
	maxOptOutPhone = 32
	// optOutFanOutBudget bounds the background fan-out of one list.
	optOutFanOutBudget = 10 * time.Minute
)

// Row results.
const (
	optOutMatched = "matched"
	optOutUnknown = "unknown"
	optOutInvalid = "invalid"
)

// earliestOptOut bounds a row's time from below; 080 lists are recent.
var earliestOptOut = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// optOutClockSkew is how far in the future a vendor's clock may be.
const optOutClockSkew = 10 * time.Minute

// seoul reads local times of a list, which Korean vendors write without a
// zone.
var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		return time.FixedZone("KST", 9*3600)
	}
	return loc
}()

func (s *Server) optOutRoutes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", s.postOptOuts)
	return r
}

// optOutRow is a row as given, before validation.
type optOutRow struct {
	Phone  *string `json:"phone"`
	Time   *string `json:"time"`
	Source *string `json:"source"`
	// unreadable says why the row could not be read at all.
	unreadable string
}

type optOutAnswer struct {
	Row       int    `json:"row"`
	Phone     string `json:"phone"`
	Result    string `json:"result"`
	Customers int    `json:"customers"`
	Withdrawn int    `json:"withdrawn"`
	Reason    string `json:"reason,omitempty"`
}

type optOutsAnswer struct {
	Rows      int            `json:"rows"`
	Matched   int            `json:"matched"`
	Unknown   int            `json:"unknown"`
	Invalid   int            `json:"invalid"`
	Withdrawn int            `json:"withdrawn"`
	Results   []optOutAnswer `json:"results"`
}

// postOptOuts applies an 080 list: SMS and call advertising consent
// (store.OptOutChannels) is withdrawn for every customer with a listed
// number, recorded with the API key's name as actor, the row's source and
// the row's time. Each row is answered on its own: matched (with how many
// customers have the number and how many lost consent by this row),
// unknown (nobody has it) or invalid (with the reason); a bad row never
// stops the others. Enrolments learn it at their database gate; those of
// customers left with no channel are also signalled, in the background.
func (s *Server) postOptOuts(w http.ResponseWriter, r *http.Request) {
	rows, err := readOptOuts(r)
	if err != nil {
		renderError(w, r, err)
		return
	}
	now := time.Now()
	answers := make([]optOutAnswer, len(rows))
	var valid []store.OptOut
	var validIdx []int
	for i, row := range rows {
		o, reason := row.validate(now)
		answers[i] = optOutAnswer{Row: i + 1, Phone: o.Phone, Result: optOutInvalid, Reason: reason}
		if reason == "" {
			valid = append(valid, o)
			validIdx = append(validIdx, i)
		}
	}
	results, optedOut, err := s.Store.ApplyOptOuts(r.Context(), valid, apiKeyName(r.Context()))
	if err != nil {
		renderError(w, r, err)
		return
	}
	out := optOutsAnswer{Rows: len(rows), Results: answers}
	for j, i := range validIdx {
		a := &answers[i]
		a.Customers, a.Withdrawn = results[j].Customers, results[j].Withdrawn
		a.Result = optOutUnknown
		if a.Customers > 0 {
			a.Result = optOutMatched
		}
		out.Withdrawn += a.Withdrawn
	}
	for _, a := range answers {
		switch a.Result {
		case optOutMatched:
			out.Matched++
		case optOutUnknown:
			out.Unknown++
		default:
			out.Invalid++
		}
	}
	if len(optedOut) > 0 {
		go s.fanOutOptOuts(context.WithoutCancel(r.Context()), optedOut)
	}
	writeJSON(w, http.StatusOK, out)
}

// fanOutOptOuts tells the enrolments of customers an opt-out list left
// with no channel, one customer's fan-out after another, after the answer
// has gone: the database gate already keeps each enrolment from sending,
// so this only ends them sooner, and a failure is logged.
func (s *Server) fanOutOptOuts(ctx context.Context, customers []int64) {
	ctx, cancel := context.WithTimeout(ctx, optOutFanOutBudget)
	defer cancel()
	for _, id := range customers {
		if _, err := s.fanOut(ctx, store.FanOutScope{CustomerID: id}, workflows.SignalOptOut, nil); err != nil {
			s.logger().ErrorContext(ctx, "fan out an 080 opt-out", "customer", id, "error", err)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// readOptOuts reads the list as CSV (text/csv: a header naming phone and
// optionally time and source) or JSON ({"opt_outs": [{phone, time,
// source}]}). A list that cannot be read at all is a 4xx; a row that
// cannot be read is kept, to be answered invalid.
func readOptOuts(r *http.Request) ([]optOutRow, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && mt == "text/csv":
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, unsupported("text/csv must be UTF-8, not " + cs)
		}
		return readOptOutCSV(r.Body)
	case err == nil && mt == "application/json":
		return readOptOutJSON(r)
	}
	return nil, unsupported("send text/csv or application/json")
}

func unsupported(detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType,
		Field: "Content-Type", Detail: "Content-Type: " + detail}
}

func tooManyRows(field string) *Problem {
	return &Problem{Type: "about:blank", Title: "Too many rows", Status: http.StatusRequestEntityTooLarge, Field: field,
		Detail: fmt.Sprintf("%s: more than %d rows; send the list in several requests", field, maxOptOutRows)}
}

func readOptOutJSON(r *http.Request) ([]optOutRow, error) {
	var in struct {
		OptOuts *[]json.RawMessage `json:"opt_outs"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.OptOuts == nil {
		return nil, badField("opt_outs", "missing: want a list of {phone, time, source}")
	}
	if len(*in.OptOuts) > maxOptOutRows {
		return nil, tooManyRows("opt_outs")
	}
	rows := make([]optOutRow, len(*in.OptOuts))
	for i, raw := range *in.OptOuts {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rows[i]); err != nil {
			// Kept: answered invalid on its own.
			rows[i] = optOutRow{unreadable: "must be an object with phone, time and source"}
			var p *Problem
			if errors.As(decodeProblem(err), &p) && p.Field != "" && p.Field != "body" {
				rows[i].unreadable = p.Detail
			}
		}
	}
	return rows, nil
}

func readOptOutCSV(body io.Reader) ([]optOutRow, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, decodeProblem(err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // spreadsheet programs start UTF-8 with a BOM
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, badField("body", "is empty: want a header line phone,time,source")
	}
	if err != nil {
		return nil, csvProblem(err)
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "phone", "time", "source":
			if _, dup := col[name]; dup {
				return nil, badField("header", "names "+name+" twice")
			}
			col[name] = i
		default:
			if p := textProblem(name, 64); p != "" {
				return nil, badField("header", "a column name "+p)
			}
			return nil, badField("header", fmt.Sprintf("unknown column %q: want phone, time, source", name))
		}
	}
	if _, ok := col["phone"]; !ok {
		return nil, badField("header", "has no phone column")
	}
	width := len(header)
	var rows []optOutRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, csvProblem(err)
		}
		if len(rows) == maxOptOutRows {
			return nil, tooManyRows("rows")
		}
		var row optOutRow
		if len(rec) != width {
			row.unreadable = fmt.Sprintf("has %d fields, the header %d", len(rec), width)
		} else {
			for name, i := range col {
				v := rec[i]
				switch name {
				case "phone":
					row.Phone = &v
				case "time":
					row.Time = &v
				case "source":
					row.Source = &v
				}
			}
		}
		rows = append(rows, row)
	}
}

func csvProblem(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return badField("body", fmt.Sprintf("is not valid CSV: line %d: %v", pe.Line, pe.Err))
	}
	return decodeProblem(err)
}

// validate checks a row and returns it normalised, or why it is invalid.
// The answer's phone is the normalised number, or what was given (cut
// short) when it is not one.
func (row optOutRow) validate(now time.Time) (store.OptOut, string) {
	o := store.OptOut{Source: store.SourceOptOutList, At: now}
	if row.unreadable != "" {
		return o, row.unreadable
	}
	if row.Phone == nil {
		return o, "phone: missing"
	}
	given := *row.Phone
	o.Phone = strings.ToValidUTF8(given, "\uFFFD")
	if len(o.Phone) > maxOptOutPhone {
		o.Phone = strings.ToValidUTF8(o.Phone[:maxOptOutPhone], "")
	}
	phone, ok := listPhone(given)
	if !ok {
		return o, "phone: not a phone number (want E.164 or a Korean number such as 010-1234-5678)"
	}
	o.Phone = phone
	if row.Time != nil && strings.TrimSpace(*row.Time) != "" {
		at, ok := listTime(*row.Time)
		switch {
		case !ok:
			return o, "time: want RFC 3339 (2026-11-24T10:00:00+09:00) or Korean local time (2026-11-24 10:00:00)"
		case at.Before(earliestOptOut):
			return o, "time: before 2000"
		case at.After(now.Add(optOutClockSkew)):
			return o, "time: in the future"
		}
		o.At = at
	}
	if row.Source != nil && strings.TrimSpace(*row.Source) != "" {
		src := strings.TrimSpace(*row.Source)
		if err := checkText("source", src, 4*maxOptOutSource); err != nil {
			return o, err.Error()
		}
		if err := checkLength("source", src, maxOptOutSource); err != nil {
			return o, err.Error()
		}
		o.Source = src
	}
	return o, ""
}

// listPhone normalises a number as 080 vendors write them: E.164
// ("+821012345678", "+82 10-1234-5678") or Korean domestic form
// ("010-1234-5678", "01012345678"), to the E.164 the customer API stores
// (normalizePhone).
func listPhone(raw string) (string, bool) {
	if len(raw) > maxOptOutPhone {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.TrimSpace(raw) {
		switch {
		case r >= '0' && r <= '9', r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == '-' || r == ' ' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	s := b.String()
	switch {
	case strings.HasPrefix(s, "+"):
		return normalizePhone(s)
	case strings.HasPrefix(s, "0") && len(s) >= 9:
		n, err := phonenumbers.Parse(s, "KR")
		if err != nil {
			return "", false
		}
		return normalizePhone(phonenumbers.Format(n, phonenumbers.E164))
	}
	return "", false
}

// listTime reads a row's time: RFC 3339, or a local time in Korea.
func listTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	for _, layout := range []string{time.DateTime, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, seoul); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
