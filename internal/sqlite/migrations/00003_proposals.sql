-- +goose Up
-- The single negotiating text: projections of proposal.created,
-- version.proposed, answer.given, answer.withdrawn and talk.agreed.
CREATE TABLE proposals (
	id         INTEGER PRIMARY KEY,
	talk_id    INTEGER NOT NULL,
	track_id   INTEGER NOT NULL,
	title      TEXT NOT NULL,
	author_id  INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (talk_id, id),
	FOREIGN KEY (talk_id, track_id) REFERENCES tracks (talk_id, id),
	FOREIGN KEY (talk_id, author_id) REFERENCES members (talk_id, id)
);
CREATE INDEX proposals_talk_id ON proposals (talk_id, track_id);

-- parent_id is NULL for a proposal's first version; values and clauses
-- are JSON objects from issue name to value name and to clause text.
CREATE TABLE versions (
	id          INTEGER PRIMARY KEY,
	talk_id     INTEGER NOT NULL,
	proposal_id INTEGER NOT NULL,
	parent_id   INTEGER,
	vals        BLOB NOT NULL,
	clauses     BLOB NOT NULL,
	rationale   TEXT NOT NULL,
	author_id   INTEGER NOT NULL,
	created_at  TEXT NOT NULL,
	UNIQUE (proposal_id, id),
	FOREIGN KEY (talk_id, proposal_id) REFERENCES proposals (talk_id, id),
	FOREIGN KEY (proposal_id, parent_id) REFERENCES versions (proposal_id, id),
	FOREIGN KEY (talk_id, author_id) REFERENCES members (talk_id, id)
);
CREATE INDEX versions_proposal_id ON versions (proposal_id, id);

-- An answer stands while withdrawn_at is NULL; a party has at most one
-- standing answer per version.
CREATE TABLE answers (
	id           INTEGER PRIMARY KEY,
	talk_id      INTEGER NOT NULL,
	proposal_id  INTEGER NOT NULL,
	version_id   INTEGER NOT NULL,
	party_id     INTEGER NOT NULL,
	member_id    INTEGER NOT NULL,
	kind         TEXT NOT NULL CHECK (kind IN ('accept', 'reject', 'counter')),
	counter_id   INTEGER,
	created_at   TEXT NOT NULL,
	withdrawn_at TEXT,
	FOREIGN KEY (proposal_id, version_id) REFERENCES versions (proposal_id, id),
	FOREIGN KEY (proposal_id, counter_id) REFERENCES versions (proposal_id, id),
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id),
	FOREIGN KEY (talk_id, member_id) REFERENCES members (talk_id, id)
);
CREATE UNIQUE INDEX answers_one_standing ON answers (version_id, party_id) WHERE withdrawn_at IS NULL;
CREATE INDEX answers_proposal_id ON answers (proposal_id, id);

CREATE TABLE agreements (
	talk_id     INTEGER PRIMARY KEY REFERENCES talks (id),
	proposal_id INTEGER NOT NULL,
	version_id  INTEGER NOT NULL,
	track_id    INTEGER NOT NULL,
	agreed_at   TEXT NOT NULL,
	FOREIGN KEY (proposal_id, version_id) REFERENCES versions (proposal_id, id)
);

-- +goose Down
DROP TABLE agreements;
DROP TABLE answers;
DROP TABLE versions;
DROP TABLE proposals;
