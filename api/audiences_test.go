package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// audienceAPI is an API on a fresh database, for the preview endpoint
// (which never calls Temporal: the client is lazy).
type audienceAPI struct {
	t   *testing.T
	st  *store.Store
	url string
	key string
}

func newAudienceAPI(t *testing.T) *audienceAPI {
	t.Helper()
	ctx := context.Background()
	st, _ := testenv.Store(t)
	tc, err := client.NewLazyClient(client.Options{HostPort: testenv.Temporal(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	key, err := st.CreateAPIKey(ctx, "audience-test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Store: st, Temporal: tc, TaskQueue: "audience-test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	t.Cleanup(srv.Close)
	return &audienceAPI{t: t, st: st, url: srv.URL, key: key}
}

// preview posts body (a string is sent as is) and returns the status,
// content type and body.
func (a *audienceAPI) preview(body any, auth bool) (int, string, []byte) {
	a.t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		raw = string(b)
	}
	req, err := http.NewRequest("POST", a.url+"/v1/audiences:preview", bytes.NewReader([]byte(raw)))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

type previewOut struct {
	Count  *int64            `json:"count"`
	Sample []json.RawMessage `json:"sample"`
}

// ok previews a filter and returns the count and the sample's external ids.
func (a *audienceAPI) ok(filter map[string]any) (int64, []string) {
	a.t.Helper()
	status, ct, body := a.preview(map[string]any{"audience": filter}, true)
	if status != http.StatusOK || ct != "application/json" {
		a.t.Fatalf("preview %v: %d %s: %s", filter, status, ct, body)
	}
	var out previewOut
	if err := json.Unmarshal(body, &out); err != nil {
		a.t.Fatal(err)
	}
	if out.Count == nil || out.Sample == nil {
		a.t.Fatalf("preview %v: want count and sample (an array): %s", filter, body)
	}
	ids := []string{}
	for _, raw := range out.Sample {
		var c map[string]any
		if err := json.Unmarshal(raw, &c); err != nil {
			a.t.Fatal(err)
		}
		if _, leaked := c["id"]; leaked {
			a.t.Fatalf("sample exposes the internal id: %s", raw)
		}
		ids = append(ids, c["external_id"].(string))
	}
	return *out.Count, ids
}

func (a *audienceAPI) customer(ext string, sms bool, purchases ...time.Time) {
	a.t.Helper()
	ctx := context.Background()
	c := store.Customer{ExternalID: ext, Name: "고객 " + ext, TimeZone: "Asia/Seoul", Locale: "ko-KR", Consent: map[string]store.Consent{}}
	if sms {
		c.Consent["sms"] = store.Consent{Granted: true, At: time.Now(), Source: "pos"}
	}
	stored, _, err := a.st.UpsertCustomer(ctx, c)
	if err != nil {
		a.t.Fatal(err)
	}
	for i, at := range purchases {
		_, _, _, err := a.st.RecordPurchase(ctx, store.Purchase{
			ExternalID: fmt.Sprintf("%s-p%d", ext, i), CustomerID: stored.ID, Amount: "50000", Currency: "KRW",
			Category: "가전", Store: "강남점", PurchasedAt: at,
		}, func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil })
		if err != nil {
			a.t.Fatal(err)
		}
	}
}

func TestAudiencePreview(t *testing.T) {
	a := newAudienceAPI(t)
	day := 24 * time.Hour
	a.customer("lapsed-sms", true, time.Now().Add(-200*day))
	a.customer("lapsed-no-sms", false, time.Now().Add(-120*day), time.Now().Add(-100*day))
	a.customer("recent-sms", true, time.Now().Add(-3*day))
	a.customer("never", true)

	for _, tc := range []struct {
		filter map[string]any
		want   []string
	}{
		{map[string]any{}, []string{"lapsed-sms", "lapsed-no-sms", "recent-sms", "never"}},
		{map[string]any{"last_purchase_older_than_days": 90}, []string{"lapsed-sms", "lapsed-no-sms"}},
		{map[string]any{"last_purchase_older_than_days": 90, "consent": "sms"}, []string{"lapsed-sms"}},
		{map[string]any{"min_purchases": 2, "stores": []string{"강남점"}}, []string{"lapsed-no-sms"}},
		{map[string]any{"grades": []string{"A"}}, []string{}},
	} {
		n, ids := a.ok(tc.filter)
		if n != int64(len(tc.want)) || !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("preview %v: count %d sample %v, want %v", tc.filter, n, ids, tc.want)
		}
	}

	// The sample is the first 10 by id; the count is all of them.
	for i := range 12 {
		a.customer(fmt.Sprintf("bulk-%02d", i), true)
	}
	n, ids := a.ok(map[string]any{"consent": "sms", "max_purchases": 0})
	want := []string{"never"}
	for i := range 9 {
		want = append(want, fmt.Sprintf("bulk-%02d", i))
	}
	if n != 13 || !reflect.DeepEqual(ids, want) {
		t.Fatalf("count %d sample %v, want 13 and %v", n, ids, want)
	}
}

func TestAudiencePreviewErrors(t *testing.T) {
	a := newAudienceAPI(t)
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"audience": map[string]any{"grades": []string{"A", "VIP"}}}, "audience.grades[1]"},
		{map[string]any{"audience": map[string]any{"min_total_spend": "1e5"}}, "audience.min_total_spend"},
		{map[string]any{"audience": map[string]any{"min_total_spend": "100", "max_total_spend": "99"}}, "audience.max_total_spend"},
		{map[string]any{"audience": map[string]any{"last_purchase_older_than_days": -1}}, "audience.last_purchase_older_than_days"},
		{map[string]any{"audience": map[string]any{"consent": "kakao"}}, "audience.consent"},
		{map[string]any{"audience": map[string]any{"lifecycle": "gone"}}, "audience.lifecycle"},
		{map[string]any{"audience": map[string]any{"min_purchases": "two"}}, "audience.min_purchases"},
		{map[string]any{"audience": map[string]any{"stores": make([]string, 101)}}, "audience.stores"},
		{map[string]any{}, "audience"},
		{`{"audience": {}, "extra": 1}`, "extra"},
		{`not json`, "body"},
	} {
		status, ct, body := a.preview(tc.body, true)
		var p struct {
			Status int    `json:"status"`
			Field  string `json:"field"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("%v: %s", tc.body, body)
		}
		if status != http.StatusBadRequest || ct != "application/problem+json" || p.Field != tc.field || p.Detail == "" {
			t.Errorf("%v: %d %s %s, want 400 on field %s", tc.body, status, ct, body, tc.field)
		}
	}
	if status, _, body := a.preview(map[string]any{"audience": map[string]any{}}, false); status != http.StatusUnauthorized {
		t.Fatalf("without a key: %d %s", status, body)
	}
}
