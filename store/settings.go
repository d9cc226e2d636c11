package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/compliance"
)

// ErrSettingsBroken is returned with the defaults when the stored settings
// cannot be read back or no longer validate (written by hand, or by an
// older dangol with other bounds). A broken row never blocks a send: the
// caller logs it and goes on under the defaults, which hold Korean
// advertising until sender name and 080 number are set again.
var ErrSettingsBroken = errors.New("settings stored are broken; PUT valid settings")

// maxActor bounds who is recorded as having written something.
const maxActor = 200

// Settings reads the operator's rules: the defaults when none were ever
// stored. On ErrSettingsBroken the defaults are returned too, so a caller
// that only logs the error still applies lawful rules.
func (s *Store) Settings(ctx context.Context) (compliance.Settings, error) {
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT doc FROM settings WHERE id = 1`).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return compliance.Defaults(), nil
	}
	if err != nil {
		return compliance.Defaults(), err
	}
	return decodeSettings(doc)
}

func decodeSettings(doc []byte) (compliance.Settings, error) {
	var st compliance.Settings
	if err := json.Unmarshal(doc, &st); err != nil {
		return compliance.Defaults(), fmt.Errorf("%w: %v", ErrSettingsBroken, err)
	}
	if err := st.Validate(); err != nil {
		return compliance.Defaults(), fmt.Errorf("%w: %v", ErrSettingsBroken, err)
	}
	// Settings stored before a field existed read as its default.
	return st.Normalized(), nil
}

// PutSettings replaces the settings after checking them (bounds and round
// trip), recording who wrote them, and returns them as stored. An invalid
// document is a *compliance.FieldError and nothing is written.
func (s *Store) PutSettings(ctx context.Context, st compliance.Settings, actor string) (compliance.Settings, error) {
	if err := st.Validate(); err != nil {
		return st, err
	}
	if actor == "" || !utf8.ValidString(actor) || len(actor) > maxActor {
		return st, fmt.Errorf("store: settings actor %q is not a name", actor)
	}
	doc, err := json.Marshal(st.Normalized())
	if err != nil {
		return st, err
	}
	var back []byte
	err = s.pool.QueryRow(ctx, `
		INSERT INTO settings (id, doc, updated_by) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, updated_by = EXCLUDED.updated_by, updated_at = now()
		RETURNING doc`, doc, actor).Scan(&back)
	if err != nil {
		return st, err
	}
	return decodeSettings(back)
}
