-- Live rooms, signed tokens, and what ties documents to a practice and a patient.

-- Every event of a room's sessions, numbered per room: what screens replay
-- after a reconnect, and what replicas read when notified (NOTIFY carries ids).
ALTER TABLE rooms ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
CREATE TABLE room_events (
    room_id     uuid NOT NULL REFERENCES rooms (id),
    seq         bigint NOT NULL,
    session_id  uuid NOT NULL REFERENCES dictation_sessions (id),
    type        text NOT NULL,
    event       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, seq)
);
CREATE INDEX room_events_session ON room_events (session_id);
CREATE INDEX dictation_sessions_room ON dictation_sessions (room_id, started_at);
CREATE INDEX dictation_sessions_patient ON dictation_sessions (patient_id);

-- Documents belong to a clinic, and to the patient and session they were dictated for.
ALTER TABLE documents
    ADD COLUMN clinic_id uuid REFERENCES clinics (id),
    ADD COLUMN patient_id uuid REFERENCES patients (id),
    ADD COLUMN session_id uuid REFERENCES dictation_sessions (id);
CREATE INDEX documents_patient ON documents (patient_id);
-- who validated each version (its time is issued_at)
ALTER TABLE document_versions ADD COLUMN validated_by uuid REFERENCES users (id);
CREATE INDEX documents_session ON documents (session_id);
ALTER TABLE document_previews
    ADD COLUMN clinic_id uuid REFERENCES clinics (id),
    ADD COLUMN patient_id uuid REFERENCES patients (id),
    ADD COLUMN session_id uuid REFERENCES dictation_sessions (id);

-- An utterance's confidence: the mean probability of its words (NULL for typed text).
ALTER TABLE utterances ADD COLUMN confidence real;

-- Patients erased on request keep a row only while legal documents about them are retained.
ALTER TABLE patients ADD COLUMN erased_at timestamptz;

-- The key that signs access tokens, shared by every replica.
CREATE TABLE server_keys (
    name        text PRIMARY KEY,
    secret      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
