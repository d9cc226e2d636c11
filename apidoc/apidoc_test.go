package apidoc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/dangol/dangol/apidoc"
)

// TestDocumentIsValidOpenAPI31 loads the served JSON with kin-openapi and
// validates it as an OpenAPI 3.1 document (refs resolve, schemas are
// schemas, examples and defaults fit them).
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	raw, err := apidoc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation(), openapi3.EnableSchemaDefaultsValidation()); err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Summary == "" {
				t.Errorf("%s %s has no summary", method, path)
			}
			if len(op.Tags) == 0 {
				t.Errorf("%s %s has no tag", method, path)
			}
		}
	}
}

// TestDocsPageListsEveryOperation renders /docs and checks each
// operation and schema of the document has its place on the page.
func TestDocsPageListsEveryOperation(t *testing.T) {
	raw, _ := apidoc.JSON()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	apidoc.ServeDocs(rec, httptest.NewRequest(http.MethodGet, "/docs", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	if strings.Contains(body, "<script") || strings.Contains(body, "https://") {
		t.Fatal("the docs page loads a script or something from elsewhere")
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !strings.Contains(body, "<span class=\"m\">"+method+"</span> "+path+" ") {
				t.Errorf("%s %s is not on the page", method, path)
			}
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.Contains(body, `id="schema-`+name+`"`) {
			t.Errorf("schema %s is not on the page", name)
		}
	}
	if !strings.Contains(body, `<a href="#schema-Customer">`) {
		t.Error("a $ref does not link to its schema")
	}
}

func TestServeJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	apidoc.ServeJSON(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !strings.HasPrefix(rec.Body.String(), `{`) || !strings.Contains(rec.Body.String(), `"openapi":"3.1.0"`) {
		t.Fatalf("body %.200s", rec.Body.String())
	}
}
