-- +goose Up
-- Invitations: a projection of invitation.created, invitation.revoked and
-- invitation.accepted, plus the SHA-256 of each invitation's token, which
-- no event carries. party_id is NULL for an invitation as facilitator;
-- revoked_at, accepted_at, accepted_by and member_id are NULL until then.
CREATE TABLE invitations (
	id          INTEGER PRIMARY KEY,
	talk_id     INTEGER NOT NULL REFERENCES talks (id),
	party_id    INTEGER,
	role        TEXT NOT NULL CHECK (role IN ('principal', 'envoy', 'advisor', 'observer', 'facilitator')),
	token_hash  BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_by  INTEGER NOT NULL REFERENCES users (id),
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL,
	revoked_at  TEXT,
	accepted_at TEXT,
	accepted_by INTEGER REFERENCES users (id),
	member_id   INTEGER,
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id),
	FOREIGN KEY (talk_id, member_id) REFERENCES members (talk_id, id)
);
CREATE INDEX invitations_talk_id ON invitations (talk_id, id);

-- +goose Down
DROP TABLE invitations;
