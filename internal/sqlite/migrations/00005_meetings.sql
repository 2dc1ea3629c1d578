-- +goose Up
-- Meetings: a projection of meeting.scheduled and meeting.updated. start
-- is UTC in a fixed-width RFC 3339 form with microseconds
-- (2006-01-02T15:04:05.000000Z), so that text order is time order.
CREATE TABLE meetings (
	id               INTEGER PRIMARY KEY,
	talk_id          INTEGER NOT NULL,
	track_id         INTEGER NOT NULL,
	title            TEXT NOT NULL,
	place            TEXT NOT NULL,
	start            TEXT NOT NULL,
	duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
	agenda           TEXT NOT NULL,
	minutes          TEXT NOT NULL,
	status           TEXT NOT NULL CHECK (status IN ('scheduled', 'held', 'cancelled')),
	created_by       INTEGER NOT NULL,
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	UNIQUE (talk_id, id),
	FOREIGN KEY (talk_id, track_id) REFERENCES tracks (talk_id, id)
);
CREATE INDEX meetings_track_start ON meetings (track_id, start, id);
CREATE INDEX meetings_talk_start ON meetings (talk_id, start, id);

-- The attendees of each meeting, members of its talk.
CREATE TABLE meeting_attendees (
	talk_id    INTEGER NOT NULL,
	meeting_id INTEGER NOT NULL,
	member_id  INTEGER NOT NULL,
	PRIMARY KEY (meeting_id, member_id),
	FOREIGN KEY (talk_id, meeting_id) REFERENCES meetings (talk_id, id),
	FOREIGN KEY (talk_id, member_id) REFERENCES members (talk_id, id)
);

-- +goose Down
DROP TABLE meeting_attendees;
DROP TABLE meetings;
