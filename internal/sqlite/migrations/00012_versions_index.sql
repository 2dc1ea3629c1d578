-- +goose Up
-- versions_proposal_id repeated the index of UNIQUE (proposal_id, id), so
-- every version was inserted into both.
DROP INDEX versions_proposal_id;

-- +goose Down
CREATE INDEX versions_proposal_id ON versions (proposal_id, id);
