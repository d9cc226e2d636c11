package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// HashAPIKey is how keys are stored: a leaked table grants nothing.
// Keys are 256 random bits, so a fast hash is enough (no password
// stretching needed).
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey makes a new key and returns it; only its hash is stored.
func (s *Store) CreateAPIKey(ctx context.Context, name string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := "dgl_" + hex.EncodeToString(b)
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (name, key_hash) VALUES ($1, $2)`, name, HashAPIKey(key))
	return key, err
}

// APIKeyName returns the name of a live key, or ErrNotFound.
func (s *Store) APIKeyName(ctx context.Context, key string) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `SELECT name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, HashAPIKey(key)).Scan(&name)
	return name, notFound(err)
}
