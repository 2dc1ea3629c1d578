-- +goose Up
-- Member signatures (issue 7). Each signer of a talk (a member, or a
-- stakeholder: "member/ID", "stakeholder/USER") has one Ed25519 key;
-- private_key is NULL once the signer took the key into its own hands.
CREATE TABLE signer_keys (
	talk_id     INTEGER NOT NULL REFERENCES talks (id),
	signer      TEXT NOT NULL,
	public_key  BLOB NOT NULL,
	private_key BLOB,
	holder      TEXT NOT NULL CHECK (holder IN ('server', 'client')),
	created_at  TEXT NOT NULL,
	PRIMARY KEY (talk_id, signer)
);

-- Signatures that clients submitted, so that none is recorded twice.
CREATE TABLE client_signatures (
	sig     BLOB PRIMARY KEY,
	talk_id INTEGER NOT NULL REFERENCES talks (id)
);

-- +goose Down
DROP TABLE client_signatures;
DROP TABLE signer_keys;
