-- +goose Up
-- Member signatures (issue 7); see internal/sqlite.
CREATE TABLE signer_keys (
	talk_id     bigint NOT NULL REFERENCES talks (id),
	signer      text NOT NULL,
	public_key  bytea NOT NULL,
	private_key bytea,
	holder      text NOT NULL CHECK (holder IN ('server', 'client')),
	created_at  timestamptz NOT NULL,
	PRIMARY KEY (talk_id, signer)
);

CREATE TABLE client_signatures (
	sig     bytea PRIMARY KEY,
	talk_id bigint NOT NULL REFERENCES talks (id)
);

-- +goose Down
DROP TABLE client_signatures;
DROP TABLE signer_keys;
