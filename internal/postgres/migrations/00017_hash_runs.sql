-- +goose Up
-- tlog_hashes held a row for each stored hash of a talk's tree: about two
-- an event, four a counter-proposal, each with its index entry, its
-- checks and its foreign key checked, which was a fifth of the
-- committer's backend's time. tlog_hash_runs holds them in runs: the
-- stored hashes at the consecutive indexes from idx, concatenated, one
-- row for each talk a commit appends to (internal/postgres, treeRows).
-- The runs of a talk cover its indexes from 0 without gaps or overlaps.
CREATE TABLE tlog_hash_runs (
	talk_id bigint NOT NULL REFERENCES talks (id),
	idx     bigint NOT NULL CHECK (idx >= 0),
	hashes  bytea NOT NULL CHECK (length(hashes) > 0 AND length(hashes) % 32 = 0),
	PRIMARY KEY (talk_id, idx)
);
INSERT INTO tlog_hash_runs (talk_id, idx, hashes) SELECT talk_id, idx, hash FROM tlog_hashes;
DROP TABLE tlog_hashes;

-- +goose Down
CREATE TABLE tlog_hashes (
	talk_id bigint NOT NULL REFERENCES talks (id),
	idx     bigint NOT NULL CHECK (idx >= 0),
	hash    bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (talk_id, idx)
);
INSERT INTO tlog_hashes (talk_id, idx, hash)
	SELECT talk_id, idx + i, substring(hashes FROM 32 * i + 1 FOR 32)
	FROM tlog_hash_runs, generate_series(0, length(hashes) / 32 - 1) AS i;
DROP TABLE tlog_hash_runs;
