-- +goose Up
-- A login token signs its holder in as its user once, before it expires
-- (the demo's sign-in links). Only its SHA-256 hash is stored, as for
-- sessions (00002).
CREATE TABLE login_tokens (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX login_tokens_user_id ON login_tokens (user_id);

-- +goose Down
DROP TABLE login_tokens;
