package store_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dangol/dangol/audience"
	"github.com/dangol/dangol/bench/dbbench"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// The consent filter is jsonb containment (issue 10); it selects exactly
// the customers the former (consent -> channel -> 'granted') = true did:
// only an object under the channel whose "granted" is the JSON true.
func TestConsentContainment(t *testing.T) {
	d := newDB(t)
	values := map[string]string{
		"granted":         `{"sms": {"granted": true, "at": "2025-01-01T00:00:00Z", "source": "pos"}}`,
		"granted-bare":    `{"sms": {"granted": true}}`,
		"and-email":       `{"sms": {"granted": true}, "email": {"granted": false}}`,
		"dup-key-last":    `{"sms": {"granted": false, "granted": true}}`,
		"withdrawn":       `{"sms": {"granted": false}}`,
		"dup-key-false":   `{"sms": {"granted": true, "granted": false}}`,
		"string-true":     `{"sms": {"granted": "true"}}`,
		"number-one":      `{"sms": {"granted": 1}}`,
		"null-granted":    `{"sms": {"granted": null}}`,
		"array-granted":   `{"sms": {"granted": [true]}}`,
		"object-granted":  `{"sms": {"granted": {"value": true}}}`,
		"null-channel":    `{"sms": null}`,
		"true-channel":    `{"sms": true}`,
		"array-channel":   `{"sms": [{"granted": true}]}`,
		"string-channel":  `{"sms": "granted"}`,
		"missing":         `{}`,
		"other-channel":   `{"email": {"granted": true}}`,
		"upper-channel":   `{"SMS": {"granted": true}}`,
		"nested-deeper":   `{"x": {"sms": {"granted": true}}}`,
		"top-array":       `[{"sms": {"granted": true}}]`,
		"top-string":      `"sms"`,
		"top-null":        `null`,
		"granted-in-list": `{"sms": {"granted": true, "list": [1, 2]}}`,
	}
	for ext, v := range values {
		d.exec(`INSERT INTO customers (external_id, consent) VALUES ($1, $2::jsonb)`, ext, v)
	}
	rows, err := d.sql.Query(d.ctx, `SELECT external_id FROM customers WHERE (consent -> 'sms' -> 'granted') = 'true'::jsonb ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var former []string
	for rows.Next() {
		var ext string
		if err := rows.Scan(&ext); err != nil {
			t.Fatal(err)
		}
		former = append(former, ext)
	}
	want := []string{"granted", "granted-bare", "and-email", "dup-key-last", "granted-in-list"}
	got := map[string]bool{}
	for _, id := range d.eligibleAll(store.EligibleQuery{ProgramID: 1, Filter: audience.Filter{Consent: "sms"}, Now: now}) {
		var ext string
		if err := d.sql.QueryRow(d.ctx, `SELECT external_id FROM customers WHERE id = $1`, id).Scan(&ext); err != nil {
			t.Fatal(err)
		}
		got[ext] = true
	}
	wantSet := map[string]bool{}
	for _, w := range want {
		wantSet[w] = true
	}
	formerSet := map[string]bool{}
	for _, f := range former {
		formerSet[f] = true
	}
	if !reflect.DeepEqual(got, wantSet) {
		t.Errorf("containment selects %v, want %v", got, wantSet)
	}
	if !reflect.DeepEqual(formerSet, wantSet) {
		t.Errorf("the former predicate selects %v, want %v", formerSet, wantSet)
	}
	n, _, err := d.st.PreviewAudience(d.ctx, audience.Filter{Consent: "sms"}, now)
	if err != nil || n != int64(len(want)) {
		t.Errorf("preview counts %d (%v), want %d", n, err, len(want))
	}
}

// A consent few customers granted is found through the GIN index, not by
// reading every customer; a count over a channel most granted still
// plans (and answers) as the hand-written SQL does.
func TestAudienceCountPlan(t *testing.T) {
	st, dsn := testenv.Store(t)
	if err := dbbench.SeedAudience(t.Context(), dsn, 20000); err != nil {
		t.Fatal(err)
	}
	plan, err := st.ExplainAudienceCount(t.Context(), audience.Filter{Consent: "call"}, dbbench.AudienceNow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "customers_consent_idx") || strings.Contains(plan, "Seq Scan on customers") {
		t.Errorf("a consent nobody granted is not found by index:\n%s", plan)
	}
	plan, err = st.ExplainAudienceCount(t.Context(), dbbench.AudienceFilter(), dbbench.AudienceNow)
	if err != nil {
		t.Fatal(err)
	}
	// The estimate of the consent term comes from the column's
	// statistics: not the default guess that made counts nested loops of
	// one index probe per customer.
	if strings.Contains(plan, "Nested Loop") {
		t.Errorf("the count of a common consent is a nested loop:\n%s", plan)
	}
}
