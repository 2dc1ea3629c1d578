-- +goose Up
-- The verifiable record (internal/ledger). tlog_hashes holds each talk's
-- Merkle tree as its stored hashes (tlog.StoredHashIndex): about two rows
-- per event, written in the transaction that appends the event and never
-- changed. checkpoints holds every checkpoint the server signed of a
-- talk's tree, the signed note as text; several checkpoints may share a
-- size (the latest wins), so that "backchannel verify --db" can see a
-- fork rather than a constraint hiding it.
CREATE TABLE tlog_hashes (
	talk_id INTEGER NOT NULL REFERENCES talks (id),
	idx     INTEGER NOT NULL CHECK (idx >= 0),
	hash    BLOB NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (talk_id, idx)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
	id      INTEGER PRIMARY KEY,
	talk_id INTEGER NOT NULL REFERENCES talks (id),
	size    INTEGER NOT NULL CHECK (size > 0),
	root    BLOB NOT NULL CHECK (length(root) = 32),
	note    TEXT NOT NULL,
	time    TEXT NOT NULL
);
CREATE INDEX checkpoints_talk ON checkpoints (talk_id, id);

-- +goose Down
DROP TABLE checkpoints;
DROP TABLE tlog_hashes;
