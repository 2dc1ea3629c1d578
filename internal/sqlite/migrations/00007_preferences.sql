-- +goose Up
-- Parties' private preferences (issue 6), one row per saved version. body
-- is the canonical JSON of talks.PreferencesBody; salt is random and
-- digest = SHA-256("backchannel/preferences/v1\n" || salt || body), the
-- only thing the preferences.saved event carries. body and salt are not
-- in the log: this table is not a projection of it, except for
-- (party_id, version, digest, created_by, created_at).
CREATE TABLE preferences (
	talk_id    INTEGER NOT NULL,
	party_id   INTEGER NOT NULL,
	version    INTEGER NOT NULL CHECK (version > 0),
	body       TEXT NOT NULL,
	salt       BLOB NOT NULL,
	digest     BLOB NOT NULL,
	created_by INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (party_id, version),
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id)
);
CREATE INDEX preferences_talk ON preferences (talk_id, party_id, version);

-- +goose Down
DROP TABLE preferences;
