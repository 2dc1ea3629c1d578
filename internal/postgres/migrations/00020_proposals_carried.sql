-- +goose Up
-- A proposal carried from a back-channel into the official track
-- (proposal.carried) keeps that provenance for good. The hand-off, which
-- drives the ratification of the back-channel agreement, goes when a
-- reopening undoes that agreement; the proposal stays, and so does where
-- its text came from.
ALTER TABLE proposals ADD COLUMN carried boolean NOT NULL DEFAULT false;
UPDATE proposals SET carried = true WHERE id IN (
	SELECT (convert_from(payload, 'UTF8')::jsonb ->> 'proposal_id')::bigint FROM events WHERE type = 'proposal.carried');

-- +goose Down
ALTER TABLE proposals DROP COLUMN carried;
