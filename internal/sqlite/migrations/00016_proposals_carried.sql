-- +goose Up
-- A proposal carried from a back-channel into the official track
-- (proposal.carried) keeps that provenance for good. The hand-off, which
-- drives the ratification of the back-channel agreement, goes when a
-- reopening undoes that agreement; the proposal stays, and so does where
-- its text came from.
ALTER TABLE proposals ADD COLUMN carried INTEGER NOT NULL DEFAULT 0;
UPDATE proposals SET carried = 1 WHERE id IN (
	SELECT json_extract(CAST(payload AS TEXT), '$.proposal_id') FROM events WHERE type = 'proposal.carried');

-- +goose Down
ALTER TABLE proposals DROP COLUMN carried;
