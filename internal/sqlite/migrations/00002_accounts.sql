-- +goose Up
-- Accounts are not part of any talk's event log. Secrets are stored only as
-- SHA-256 hashes (32-byte blobs); times as in 00001 (RFC 3339, UTC).
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1));

CREATE TABLE sessions (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at TEXT NOT NULL,
	UNIQUE (user_id, name)
);

CREATE TABLE setup_tokens (
	id         INTEGER PRIMARY KEY,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);

-- +goose Down
DROP TABLE setup_tokens;
DROP TABLE api_tokens;
DROP TABLE sessions;
ALTER TABLE users DROP COLUMN admin;
