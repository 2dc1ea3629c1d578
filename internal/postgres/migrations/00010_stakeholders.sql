-- +goose Up
-- Stakeholders and ratification (issue 6, part 5); see internal/sqlite.
ALTER TABLE talks DROP CONSTRAINT talks_status_check;
ALTER TABLE talks ADD CONSTRAINT talks_status_check CHECK (status IN ('open', 'agreed', 'closed', 'ratified'));

CREATE TABLE stakeholders (
	talk_id    bigint NOT NULL REFERENCES talks (id),
	user_id    bigint NOT NULL REFERENCES users (id),
	added_at   timestamptz NOT NULL,
	decision   text NOT NULL DEFAULT '' CHECK (decision IN ('', 'ratify', 'reject')),
	comment    text NOT NULL DEFAULT '',
	decided_at timestamptz,
	PRIMARY KEY (talk_id, user_id)
);

CREATE TABLE red_lines (
	talk_id    bigint NOT NULL,
	user_id    bigint NOT NULL,
	version    bigint NOT NULL CHECK (version > 0),
	body       text NOT NULL,
	salt       bytea NOT NULL,
	digest     bytea NOT NULL,
	created_by bigint NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (talk_id, user_id, version),
	FOREIGN KEY (talk_id, user_id) REFERENCES stakeholders (talk_id, user_id)
);

-- +goose Down
DROP TABLE red_lines;
DROP TABLE stakeholders;
ALTER TABLE talks DROP CONSTRAINT talks_status_check;
ALTER TABLE talks ADD CONSTRAINT talks_status_check CHECK (status IN ('open', 'agreed', 'closed'));
