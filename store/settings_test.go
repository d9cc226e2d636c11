package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/store"
)

func TestSettingsDefaultsWhenMissing(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	got, err := d.st.Settings(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, compliance.Defaults()) {
		t.Fatalf("got %+v, want the defaults", got)
	}
}

func TestSettingsRoundTrip(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	in := compliance.Defaults()
	in.SenderName, in.SenderContact, in.OptOutNumber = "한빛전자", "02-123-4567", "080-123-4567"
	in.QuietHours["*"] = compliance.QuietHours{Start: "22:00", End: "07:00", Purposes: []string{compliance.PurposeMarketing}}
	in.FrequencyCap = compliance.FrequencyCap{Max: 1, WindowDays: 3}
	stored, err := d.st.PutSettings(d.ctx, in, "ops-key")
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.st.Settings(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) || !reflect.DeepEqual(stored, in) {
		t.Fatalf("read back %+v\nanswered %+v\nwant %+v", got, stored, in)
	}
	var by string
	if err := d.sql.QueryRow(d.ctx, `SELECT updated_by FROM settings`).Scan(&by); err != nil || by != "ops-key" {
		t.Fatalf("updated_by %q, %v", by, err)
	}

	// An invalid document is refused, naming the field, and nothing is
	// written.
	bad := in
	bad.FrequencyCap.WindowDays = 0
	_, err = d.st.PutSettings(d.ctx, bad, "ops-key")
	var fe *compliance.FieldError
	if !errors.As(err, &fe) || fe.Field != "frequency_cap.window_days" {
		t.Fatalf("got %v, want a field error on frequency_cap.window_days", err)
	}
	if got, _ := d.st.Settings(d.ctx); !reflect.DeepEqual(got, in) {
		t.Fatalf("a refused PUT changed the settings: %+v", got)
	}
}

// A row that cannot be read back (hand-written, or from another dangol's
// bounds) reports ErrSettingsBroken with the defaults, so the send path
// goes on under lawful rules.
func TestSettingsBrokenRow(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	for _, doc := range []string{
		`{"frequency_cap": {"max": 1000000, "window_days": 7}, "default_time_zone": "Asia/Seoul", "default_country": "KR", "reconfirm_every_days": 730}`,
		`{"frequency_cap": "two"}`,
		`[1, 2]`,
	} {
		d.exec(`INSERT INTO settings (id, doc, updated_by) VALUES (1, $1::jsonb, 'psql')
			ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`, doc)
		got, err := d.st.Settings(d.ctx)
		if !errors.Is(err, store.ErrSettingsBroken) {
			t.Fatalf("%s: got %v, want ErrSettingsBroken", doc, err)
		}
		if !reflect.DeepEqual(got, compliance.Defaults()) {
			t.Fatalf("%s: got %+v with the error, want the defaults", doc, got)
		}
	}
	// A valid PUT repairs it.
	if _, err := d.st.PutSettings(d.ctx, compliance.Defaults(), "ops-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.st.Settings(d.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConsentHistoryWithTheCustomer(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	kr := "KR"
	c := store.Customer{ExternalID: "c-1", Name: "김민수", TimeZone: "Asia/Seoul", Locale: "ko-KR", Country: &kr,
		Consent: map[string]store.Consent{"sms": {Granted: true, At: at, Source: "pos"}, "night": {Granted: true, At: at, Source: "pos"}}}
	stored, _, err := d.st.UpsertCustomerAs(d.ctx, "c-1", "pos-key", func(*store.Customer) (store.Customer, error) { return c, nil })
	if err != nil {
		t.Fatal(err)
	}
	if stored.Country == nil || *stored.Country != "KR" || !stored.NightConsent() || !stored.Consents("sms") {
		t.Fatalf("stored %+v", stored)
	}
	// Unchanged grants record nothing; a flip records one event.
	c.Name = "김민수2"
	c.Consent["sms"] = store.Consent{Granted: false, At: at.Add(time.Hour), Source: "web"}
	if _, _, err := d.st.UpsertCustomerAs(d.ctx, "c-1", "web-key", func(*store.Customer) (store.Customer, error) { return c, nil }); err != nil {
		t.Fatal(err)
	}
	// Night-time consent alone allows no channel.
	back, err := d.st.CustomerByID(d.ctx, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !back.OptedOut() {
		t.Fatal("a customer with only night-time consent is not opted out")
	}
	h, err := d.st.ConsentHistory(d.ctx, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("history %+v, want 3 events", h)
	}
	if h[0].Channel != "sms" || h[0].Granted || h[0].Source != "web" || h[0].Actor != "web-key" || !h[0].At.Equal(at.Add(time.Hour)) {
		t.Fatalf("newest event %+v", h[0])
	}
	if h[1].Actor != "pos-key" || h[2].Actor != "pos-key" {
		t.Fatalf("first events %+v", h[1:])
	}
	page, err := d.st.ConsentEvents(d.ctx, stored.ID, h[0].ID, 1)
	if err != nil || len(page) != 1 || page[0].ID != h[1].ID {
		t.Fatalf("page after %d: %+v, %v", h[0].ID, page, err)
	}

	// A write that fails after the customer row records no consent event.
	c.Consent["sms"] = store.Consent{Granted: true, At: at.Add(2 * time.Hour), Source: "web"}
	bad := "kr"
	c.Country = &bad // the column's CHECK refuses it
	if _, _, err := d.st.UpsertCustomerAs(d.ctx, "c-1", "web-key", func(*store.Customer) (store.Customer, error) { return c, nil }); err == nil {
		t.Fatal("a lowercase country was stored")
	}
	if h, _ := d.st.ConsentHistory(d.ctx, stored.ID); len(h) != 3 {
		t.Fatalf("a failed write left consent events: %+v", h)
	}
}
