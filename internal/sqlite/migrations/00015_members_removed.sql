-- +goose Up
-- A member taken off a talk, or that left it (member.removed), keeps its
-- row: what it wrote and answered refers to it. Added again, it is the
-- same member once more.
ALTER TABLE members ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE members DROP COLUMN removed;
