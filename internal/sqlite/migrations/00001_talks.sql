-- +goose Up
-- The events table is the source of truth; every other table of a talk is a
-- projection that talks.Project can rebuild from it.
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL,
	email         TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL
);

CREATE TABLE talks (
	id          INTEGER PRIMARY KEY,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	space       BLOB, -- JSON of outcome.Space, NULL if not yet defined
	status      TEXT NOT NULL CHECK (status IN ('open', 'agreed', 'closed')),
	convener_id INTEGER NOT NULL REFERENCES users (id),
	created_at  TEXT NOT NULL
);

-- time is kept as the exact string the event hash covers; payload as the
-- exact bytes; hashes as 32-byte blobs.
CREATE TABLE events (
	talk_id   INTEGER NOT NULL REFERENCES talks (id),
	seq       INTEGER NOT NULL CHECK (seq > 0),
	time      TEXT NOT NULL,
	actor_id  INTEGER NOT NULL,
	track_id  INTEGER NOT NULL,
	type      TEXT NOT NULL,
	payload   BLOB NOT NULL,
	prev_hash BLOB NOT NULL,
	hash      BLOB NOT NULL,
	PRIMARY KEY (talk_id, seq)
) WITHOUT ROWID;

CREATE TABLE parties (
	id      INTEGER PRIMARY KEY,
	talk_id INTEGER NOT NULL REFERENCES talks (id),
	name    TEXT NOT NULL,
	UNIQUE (talk_id, name),
	UNIQUE (talk_id, id)
);

CREATE TABLE members (
	id       INTEGER PRIMARY KEY,
	talk_id  INTEGER NOT NULL REFERENCES talks (id),
	user_id  INTEGER NOT NULL REFERENCES users (id),
	party_id INTEGER, -- NULL for a facilitator
	role     TEXT NOT NULL CHECK (role IN ('principal', 'envoy', 'advisor', 'observer', 'facilitator')),
	UNIQUE (talk_id, user_id),
	UNIQUE (talk_id, id),
	FOREIGN KEY (talk_id, party_id) REFERENCES parties (talk_id, id)
);
CREATE INDEX members_user_id ON members (user_id);

CREATE TABLE tracks (
	id      INTEGER PRIMARY KEY,
	talk_id INTEGER NOT NULL REFERENCES talks (id),
	name    TEXT NOT NULL,
	kind    TEXT NOT NULL CHECK (kind IN ('official', 'backchannel')),
	UNIQUE (talk_id, id)
);
CREATE UNIQUE INDEX tracks_one_official ON tracks (talk_id) WHERE kind = 'official';

CREATE TABLE track_members (
	talk_id   INTEGER NOT NULL,
	track_id  INTEGER NOT NULL,
	member_id INTEGER NOT NULL,
	PRIMARY KEY (track_id, member_id),
	FOREIGN KEY (talk_id, track_id) REFERENCES tracks (talk_id, id),
	FOREIGN KEY (talk_id, member_id) REFERENCES members (talk_id, id)
);
CREATE INDEX track_members_talk_id ON track_members (talk_id);

CREATE TABLE messages (
	id         INTEGER PRIMARY KEY,
	talk_id    INTEGER NOT NULL,
	track_id   INTEGER NOT NULL,
	author_id  INTEGER NOT NULL,
	body       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	retracted  INTEGER NOT NULL DEFAULT 0,
	FOREIGN KEY (talk_id, track_id) REFERENCES tracks (talk_id, id),
	FOREIGN KEY (talk_id, author_id) REFERENCES members (talk_id, id)
);
CREATE INDEX messages_track_id ON messages (track_id, id);

-- +goose Down
DROP TABLE messages;
DROP TABLE track_members;
DROP TABLE tracks;
DROP TABLE members;
DROP TABLE parties;
DROP TABLE events;
DROP TABLE talks;
DROP TABLE users;
