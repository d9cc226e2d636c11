package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
)

// part is one leaf of a received MIME message.
type part struct {
	contentType, disposition string
	body                     []byte
}

// leaves walks a multipart tree and decodes each leaf's transfer encoding
// (base64 only: the attachments are sent so; text parts stay as sent).
func leaves(t *testing.T, header map[string][]string, body io.Reader) []part {
	t.Helper()
	h := netmail.Header(header)
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", h.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		raw, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
			if raw, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(raw))); err != nil {
				t.Fatalf("base64: %v", err)
			}
		}
		return []part{{contentType: h.Get("Content-Type"), disposition: h.Get("Content-Disposition"), body: raw}}
	}
	var out []part
	r := multipart.NewReader(body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, leaves(t, p.Header, p)...)
	}
}

// A mail with an attachment arrives as multipart/mixed: the text, then the
// file under its name and type, its bytes exactly as given (CRLF line
// ends, Korean, a leading '=' included).
func TestSendWithAttachment(t *testing.T) {
	srv := startMock(t, smtpmock.ConfigurationAttr{})
	s := newTestSMTP(t, srv.PortNumber())
	csv := []byte("store,treated\r\nall,3\r\n강남점,\"=1+2\"\r\n")
	err := s.Send(context.Background(), Message{
		To: "ops@example.com", Subject: "프로그램 보고서", TextBody: "보고서를 첨부합니다.", MessageID: "<report-1@dangol>",
		Attachments: []Attachment{{Name: "program-7-report.csv", ContentType: "text/csv; charset=utf-8", Data: csv}},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := receivedData(t, srv, 1)
	if len(got) != 1 {
		t.Fatalf("mock accepted %d messages, want 1", len(got))
	}
	parsed, err := netmail.ReadMessage(strings.NewReader(got[0].MsgRequest()))
	if err != nil {
		t.Fatal(err)
	}
	if mt, _, _ := mime.ParseMediaType(parsed.Header.Get("Content-Type")); mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q, want multipart/mixed", parsed.Header.Get("Content-Type"))
	}
	ps := leaves(t, parsed.Header, parsed.Body)
	if len(ps) != 2 {
		t.Fatalf("%d parts, want the text and the file: %+v", len(ps), ps)
	}
	if mt, _, _ := mime.ParseMediaType(ps[0].contentType); mt != "text/plain" {
		t.Errorf("first part %q, want the text", ps[0].contentType)
	}
	file := ps[1]
	disp, params, err := mime.ParseMediaType(file.disposition)
	if err != nil || disp != "attachment" || params["filename"] != "program-7-report.csv" {
		t.Errorf("Content-Disposition %q (%v), want an attachment named program-7-report.csv", file.disposition, err)
	}
	if mt, params, _ := mime.ParseMediaType(file.contentType); mt != "text/csv" || params["charset"] != "utf-8" {
		t.Errorf("attachment Content-Type %q, want text/csv; charset=utf-8", file.contentType)
	}
	if !bytes.Equal(file.body, csv) {
		t.Errorf("attachment bytes %q, want %q", file.body, csv)
	}
}

// An attachment whose name or type would break the headers, or too many
// or too big, is refused for good before the relay is called.
func TestSendRefusesBadAttachments(t *testing.T) {
	srv := startMock(t, smtpmock.ConfigurationAttr{})
	s := newTestSMTP(t, srv.PortNumber())
	ok := Attachment{Name: "r.csv", ContentType: "text/csv", Data: []byte("a\r\n")}
	with := func(f func(*Attachment)) []Attachment { a := ok; f(&a); return []Attachment{a} }
	tests := map[string][]Attachment{
		"empty name":         with(func(a *Attachment) { a.Name = "" }),
		"quote in name":      with(func(a *Attachment) { a.Name = `r".csv` }),
		"newline in name":    with(func(a *Attachment) { a.Name = "r.csv\r\nBcc: x@example.com" }),
		"path in name":       with(func(a *Attachment) { a.Name = "../r.csv" }),
		"long name":          with(func(a *Attachment) { a.Name = strings.Repeat("r", MaxAttachmentName+1) }),
		"no type":            with(func(a *Attachment) { a.ContentType = "" }),
		"header in the type": with(func(a *Attachment) { a.ContentType = "text/csv\r\nBcc: x@example.com" }),
		"too big":            with(func(a *Attachment) { a.Data = make([]byte, MaxAttachmentBytes+1) }),
		"too many":           make([]Attachment, MaxAttachments+1),
	}
	for i := range tests["too many"] {
		tests["too many"][i] = ok
	}
	for name, atts := range tests {
		t.Run(name, func(t *testing.T) {
			err := s.Send(context.Background(), Message{To: "ops@example.com", Subject: "s", TextBody: "b", MessageID: "<r@dangol>", Attachments: atts})
			var pe *PermanentError
			if !errors.As(err, &pe) || pe.Code != 0 {
				t.Fatalf("err = %v, want our own permanent refusal", err)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("the relay saw %d sessions, want none", n)
	}
}
