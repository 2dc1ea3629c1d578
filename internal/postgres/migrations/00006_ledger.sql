-- +goose Up
-- The verifiable record (internal/ledger), as in internal/sqlite.
-- tlog_hashes holds each talk's Merkle tree as its stored hashes
-- (tlog.StoredHashIndex): about two rows per event, written in the
-- transaction that appends the event and never changed. checkpoints holds
-- every checkpoint the server signed of a talk's tree, the signed note as
-- text; several may share a size (the latest wins), so that
-- "backchannel verify --db" can see a fork rather than a constraint
-- hiding it.
CREATE TABLE tlog_hashes (
	talk_id bigint NOT NULL REFERENCES talks (id),
	idx     bigint NOT NULL CHECK (idx >= 0),
	hash    bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (talk_id, idx)
);

CREATE TABLE checkpoints (
	id      bigserial PRIMARY KEY,
	talk_id bigint NOT NULL REFERENCES talks (id),
	size    bigint NOT NULL CHECK (size > 0),
	root    bytea NOT NULL CHECK (length(root) = 32),
	note    text NOT NULL,
	time    timestamptz NOT NULL
);
CREATE INDEX checkpoints_talk ON checkpoints (talk_id, id);

-- frontier caches, with the head it belongs to, the stored hashes of the
-- roots of the talk's complete subtrees (at most log2 n of them): all that
-- appending a leaf and hashing the new root read. A writer reads it with
-- the lock on the head, so the ledger costs no round trip under the lock.
-- Its first 8 bytes are the tree size it is of (big-endian); empty, or of
-- another size, it is ignored and the hashes are read from tlog_hashes.
ALTER TABLE event_heads ADD COLUMN frontier bytea NOT NULL DEFAULT ''::bytea;

-- +goose Down
ALTER TABLE event_heads DROP COLUMN frontier;
DROP TABLE checkpoints;
DROP TABLE tlog_hashes;
