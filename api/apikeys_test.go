package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/dangol/dangol/store"
)

// Defect 13: an API key can be listed and revoked, and a revoked key gets
// 401 on its very next request.
func TestAPIKeyRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	key, err := e.st.CreateAPIKey(ctx, "pos-gangnam")
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer " + key}
	if r := e.request(e.url, "GET", "/v1/programs", nil, auth); r.status != http.StatusOK {
		t.Fatalf("live key: %d %s", r.status, r.body)
	}

	keys, err := e.st.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, k := range keys {
		if k.Name == "pos-gangnam" {
			id = k.ID
		}
		if k.RevokedAt != nil || k.CreatedAt.IsZero() {
			t.Fatalf("listed key %+v", k)
		}
	}
	if len(keys) != 2 || id == 0 {
		t.Fatalf("listed %+v, want the test's key and pos-gangnam", keys)
	}
	raw, _ := json.Marshal(keys)
	if strings.Contains(string(raw), store.HashAPIKey(key)) || strings.Contains(string(raw), key) {
		t.Fatalf("listing shows the key or its hash: %s", raw)
	}

	revoked, err := e.st.RevokeAPIKey(ctx, id)
	if err != nil || revoked.RevokedAt == nil {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	e.request(e.url, "GET", "/v1/programs", nil, auth).wantProblem(t, http.StatusUnauthorized, "")
	e.request(e.url, "POST", "/v1/purchases", map[string]any{}, auth).wantProblem(t, http.StatusUnauthorized, "")
	// Other keys keep working.
	e.must(http.StatusOK, "GET", "/v1/programs", nil, nil)

	again, err := e.st.RevokeAPIKey(ctx, id)
	if err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Fatalf("revoking again: %+v %v; want the first revocation time kept", again, err)
	}
	if _, err := e.st.RevokeAPIKey(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking an unknown id: %v, want ErrNotFound", err)
	}
}
