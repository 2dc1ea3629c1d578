-- +goose Up
-- Disclosure plans: a projection of disclosure.proposed (one plan per
-- talk, replaced by each new one) and disclosure.consented. terms is a
-- JSON array of {"issue", "clause"}; embargo is UTC RFC 3339.
CREATE TABLE disclosures (
	talk_id     INTEGER PRIMARY KEY REFERENCES talks (id),
	revision    INTEGER NOT NULL CHECK (revision > 0),
	version_id  INTEGER NOT NULL REFERENCES versions (id),
	terms       BLOB NOT NULL,
	show_title  INTEGER NOT NULL,
	embargo     TEXT NOT NULL,
	proposed_by INTEGER NOT NULL,
	proposed_at TEXT NOT NULL,
	FOREIGN KEY (talk_id, proposed_by) REFERENCES members (talk_id, id)
);

-- The consents to the current plan, one per party; a new plan deletes them.
CREATE TABLE disclosure_consents (
	talk_id      INTEGER NOT NULL REFERENCES disclosures (talk_id),
	party_id     INTEGER NOT NULL,
	member_id    INTEGER NOT NULL,
	consented_at TEXT NOT NULL,
	PRIMARY KEY (talk_id, party_id),
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id),
	FOREIGN KEY (talk_id, member_id) REFERENCES members (talk_id, id)
);

-- Hand-offs: a projection of proposal.carried, at most one per talk.
CREATE TABLE handoffs (
	talk_id     INTEGER PRIMARY KEY REFERENCES talks (id),
	proposal_id INTEGER NOT NULL,
	member_id   INTEGER NOT NULL,
	carried_at  TEXT NOT NULL,
	FOREIGN KEY (talk_id, proposal_id) REFERENCES proposals (talk_id, id)
);

-- Reads of a talk's agreement: an audit record, not a projection of
-- events (a read changes nothing in the talk).
CREATE TABLE agreement_reads (
	id        INTEGER PRIMARY KEY,
	talk_id   INTEGER NOT NULL,
	member_id INTEGER NOT NULL,
	read_at   TEXT NOT NULL,
	FOREIGN KEY (talk_id, member_id) REFERENCES members (talk_id, id)
);
CREATE INDEX agreement_reads_talk ON agreement_reads (talk_id, id);

-- +goose Down
DROP TABLE agreement_reads;
DROP TABLE handoffs;
DROP TABLE disclosure_consents;
DROP TABLE disclosures;
