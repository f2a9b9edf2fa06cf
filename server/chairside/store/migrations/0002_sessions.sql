-- Dictation sessions, their final utterances and every draft change, written
-- before any client hears of them.
CREATE TABLE dictation_sessions (
    id          uuid PRIMARY KEY,
    language    text NOT NULL,
    context     jsonb NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    end_reason  text
);

CREATE TABLE utterances (
    id               bigserial PRIMARY KEY,
    session_id       uuid NOT NULL REFERENCES dictation_sessions (id),
    utterance        integer NOT NULL,
    source           text NOT NULL CHECK (source IN ('speech', 'text')),
    text             text NOT NULL,
    words            jsonb NOT NULL,
    start_s          double precision NOT NULL,
    end_s            double precision NOT NULL,
    language         text NOT NULL,
    end_of_utterance boolean NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX utterances_session ON utterances (session_id, id);

CREATE TABLE draft_changes (
    id           bigserial PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES dictation_sessions (id),
    utterance    integer,
    document_id  uuid NOT NULL,
    kind         text NOT NULL,
    version      integer NOT NULL,
    status       text NOT NULL,
    change       jsonb NOT NULL,
    draft        jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX draft_changes_session ON draft_changes (session_id, id);
CREATE INDEX draft_changes_document ON draft_changes (document_id, id);
