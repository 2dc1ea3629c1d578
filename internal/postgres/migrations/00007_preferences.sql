-- +goose Up
-- The schema of internal/sqlite's 00007 in PostgreSQL types. Parties'
-- private preferences, one row per saved version; body and salt are not
-- in the event log.
CREATE TABLE preferences (
	talk_id    bigint NOT NULL,
	party_id   bigint NOT NULL,
	version    bigint NOT NULL CHECK (version > 0),
	body       text NOT NULL,
	salt       bytea NOT NULL,
	digest     bytea NOT NULL,
	created_by bigint NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (party_id, version),
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id)
);
CREATE INDEX preferences_talk ON preferences (talk_id, party_id, version);

-- +goose Down
DROP TABLE preferences;
