-- +goose NO TRANSACTION
-- +goose Up
-- Stakeholders and ratification (issue 6, part 5). A talk may now be
-- ratified, which the CHECK on talks.status must allow: SQLite cannot
-- change a CHECK in place, so the table is rebuilt (the procedure of
-- https://sqlite.org/lang_altertable.html#otheralter), with foreign keys
-- off on the one migration connection.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE talks_new (
	id          INTEGER PRIMARY KEY,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	space       BLOB, -- JSON of outcome.Space, NULL if not yet defined
	status      TEXT NOT NULL CHECK (status IN ('open', 'agreed', 'closed', 'ratified')),
	convener_id INTEGER NOT NULL REFERENCES users (id),
	created_at  TEXT NOT NULL
);
INSERT INTO talks_new (id, title, description, space, status, convener_id, created_at)
	SELECT id, title, description, space, status, convener_id, created_at FROM talks;
DROP TABLE talks;
ALTER TABLE talks_new RENAME TO talks;

-- A stakeholder is not a member: it has a row here, none in members.
-- decision is '' until it answers the agreement.
CREATE TABLE stakeholders (
	talk_id    INTEGER NOT NULL REFERENCES talks (id),
	user_id    INTEGER NOT NULL REFERENCES users (id),
	added_at   TEXT NOT NULL,
	decision   TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'ratify', 'reject')),
	comment    TEXT NOT NULL DEFAULT '',
	decided_at TEXT,
	PRIMARY KEY (talk_id, user_id)
);

-- A stakeholder's red lines, as preferences: body, salt and digest as in
-- the preferences table; only the digest is in the log.
CREATE TABLE red_lines (
	talk_id    INTEGER NOT NULL,
	user_id    INTEGER NOT NULL,
	version    INTEGER NOT NULL CHECK (version > 0),
	body       TEXT NOT NULL,
	salt       BLOB NOT NULL,
	digest     BLOB NOT NULL,
	created_by INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (talk_id, user_id, version),
	FOREIGN KEY (talk_id, user_id) REFERENCES stakeholders (talk_id, user_id)
);
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
DROP TABLE red_lines;
DROP TABLE stakeholders;
