-- +goose Up
-- The schema of internal/sqlite's 00009 in PostgreSQL types. The current
-- mandate of each envoy; body and salt are not in the event log.
CREATE TABLE mandates (
	talk_id    bigint NOT NULL,
	party_id   bigint NOT NULL,
	envoy_id   bigint NOT NULL,
	version    bigint NOT NULL CHECK (version > 0),
	body       text NOT NULL,
	salt       bytea NOT NULL,
	digest     bytea NOT NULL,
	updated_by bigint NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (talk_id, envoy_id),
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id),
	FOREIGN KEY (talk_id, envoy_id) REFERENCES members (talk_id, id)
);
CREATE INDEX mandates_party ON mandates (talk_id, party_id, envoy_id);

-- +goose Down
DROP TABLE mandates;
