-- +goose Up
-- answers_proposal_id filed each answer under its proposal, so a group
-- commit of answers to many proposals wrote a leaf page of that index per
-- proposal to the WAL. answers_version_id files them under the version
-- answered, which is nearly always a recent one, so a batch's answers
-- share a page or two; it also serves reads of a version's answers, which
-- scanned the table. A proposal's answers are read through its versions.
DROP INDEX answers_proposal_id;
CREATE INDEX answers_version_id ON answers (version_id);

-- +goose Down
DROP INDEX answers_version_id;
CREATE INDEX answers_proposal_id ON answers (proposal_id, id);
