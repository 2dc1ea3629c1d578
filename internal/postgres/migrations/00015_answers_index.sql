-- +goose Up
-- As SQLite's 00013: reads of a version's answers scanned the table, since
-- answers_one_standing holds only the standing ones. answers_version_id
-- serves them, and a proposal's answers are read through its versions,
-- so answers_proposal_id, which filed each answer under its proposal (a
-- leaf page per proposal for a batch of answers to many), goes.
DROP INDEX answers_proposal_id;
CREATE INDEX answers_version_id ON answers (version_id);

-- +goose Down
DROP INDEX answers_version_id;
CREATE INDEX answers_proposal_id ON answers (proposal_id, id);
