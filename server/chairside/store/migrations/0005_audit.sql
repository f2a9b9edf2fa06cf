-- The audit trail: who did what to which record, and when (ids and counts
-- only, never names or dictated text).  Append-only, even for the role that
-- owns it; each event carries the SHA-256 of the one before it, and
-- audit_head the last one, so that a change made with the triggers disabled
-- is found by `chairside audit verify` (chairside.store.audit).
CREATE TABLE audit_events (
    id            bigint PRIMARY KEY CHECK (id >= 1),  -- 1, 2, 3... in chain order: no sequence, no gaps
    at            timestamptz NOT NULL,
    -- no foreign keys: the trail outlives what it mentions (an erased patient)
    clinic_id     uuid,
    actor_id      uuid,
    actor_role    text,
    action        text NOT NULL,
    subject_type  text,
    subject_id    text,
    patient_id    uuid,
    details       jsonb NOT NULL DEFAULT '{}',
    prev_hash     text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash          text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_events_patient ON audit_events (patient_id, id) WHERE patient_id IS NOT NULL;

-- The last event of the chain, so that removing the newest events shows too.
CREATE TABLE audit_head (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id    bigint NOT NULL,
    last_hash  text NOT NULL
);
INSERT INTO audit_head (last_id, last_hash) VALUES (0, repeat('0', 64));

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Appending an event moves the head onto it, in the same transaction; an
-- event that does not follow the head is refused.
CREATE FUNCTION audit_events_advance_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash
        WHERE last_id = NEW.id - 1 AND last_hash = NEW.prev_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit event % does not follow the head of the chain', NEW.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_events_advance AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_advance_head();

-- The head only moves forward by one, onto the event just appended.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.last_id <> OLD.last_id + 1 OR NOT EXISTS (
        SELECT 1 FROM audit_events WHERE id = NEW.last_id AND prev_hash = OLD.last_hash AND hash = NEW.last_hash
    ) THEN
        RAISE EXCEPTION 'the audit head only moves onto the event appended after it'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
