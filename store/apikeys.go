package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"
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

// APIKey is a key as an operator sees it: never its hash.
type APIKey struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// ListAPIKeys lists every key, revoked ones too, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) {
		var k APIKey
		err := r.Scan(&k.ID, &k.Name, &k.CreatedAt, &k.RevokedAt)
		return k, err
	})
}

// RevokeAPIKey revokes a key; the next request with it gets 401, since
// every request looks its key up. Revoking again keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) (APIKey, error) {
	var k APIKey
	err := s.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
		RETURNING id, name, created_at, revoked_at`, id).Scan(&k.ID, &k.Name, &k.CreatedAt, &k.RevokedAt)
	return k, notFound(err)
}
