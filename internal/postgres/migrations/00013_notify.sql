-- +goose Up
-- Every write that appends to a talk's log moves its head, and so sends a
-- notification on channel backchannel_events whose payload is the talk's
-- ID. PostgreSQL delivers it when the transaction commits, and not at all
-- if it rolls back, to every session that listens (Store.Listen): each
-- server of a deployment wakes its own event streams for writes that
-- other servers made. Notifications with the same payload in one
-- transaction are delivered once.
-- +goose StatementBegin
CREATE FUNCTION backchannel_notify_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('backchannel_events', NEW.talk_id::text);
	RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER event_heads_notify AFTER INSERT OR UPDATE OF seq ON event_heads
	FOR EACH ROW EXECUTE FUNCTION backchannel_notify_head();

-- +goose Down
DROP TRIGGER event_heads_notify ON event_heads;
DROP FUNCTION backchannel_notify_head();
