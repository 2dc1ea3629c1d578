-- +goose Up
-- The current mandate of each envoy (issue 6, part 4): the limits its
-- party's principal set. A save replaces the row and bumps version. body
-- is the canonical JSON of talks.MandateBody; salt is random and digest =
-- SHA-256("backchannel/mandate/v1\n" || salt || body), the only thing the
-- mandate.saved event carries. body and salt are not in the log.
CREATE TABLE mandates (
	talk_id    INTEGER NOT NULL,
	party_id   INTEGER NOT NULL,
	envoy_id   INTEGER NOT NULL,
	version    INTEGER NOT NULL CHECK (version > 0),
	body       TEXT NOT NULL,
	salt       BLOB NOT NULL,
	digest     BLOB NOT NULL,
	updated_by INTEGER NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (talk_id, envoy_id),
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id),
	FOREIGN KEY (talk_id, envoy_id) REFERENCES members (talk_id, id)
);
CREATE INDEX mandates_party ON mandates (talk_id, party_id, envoy_id);

-- +goose Down
DROP TABLE mandates;
