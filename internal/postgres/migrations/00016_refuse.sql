-- +goose Up
-- backchannel_refuse(reason) raises an error whose message is reason,
-- unless reason is NULL; then it returns true. A write checks what it must
-- in SQL with it (internal/postgres, refuse): a check that fails is then
-- an error of its statement, after which PostgreSQL skips the rest of the
-- write's round trip, and the COMMIT that may follow it (txn.sqlOnly).
-- +goose StatementBegin
CREATE FUNCTION backchannel_refuse(reason text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF reason IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'ZB001', MESSAGE = reason;
	END IF;
	RETURN true;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION backchannel_refuse(text);
