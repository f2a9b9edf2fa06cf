-- Documents: validated versions are immutable; the latest preview of each.
CREATE TABLE documents (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('prescription', 'lab_order', 'medical_certificate', 'clinical_report')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE document_versions (
    document_id uuid NOT NULL REFERENCES documents (id),
    version     integer NOT NULL CHECK (version >= 1),
    number      text NOT NULL,
    issued_at   timestamptz NOT NULL,
    draft       jsonb NOT NULL,
    context     jsonb NOT NULL,
    pdf         bytea NOT NULL,
    sha256      text NOT NULL CHECK (length(sha256) = 64),
    render_ms   real NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, version)
);

-- A validated version never changes: a correction is the next version.
CREATE FUNCTION document_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'document % version % is validated and cannot change', OLD.document_id, OLD.version
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER document_versions_no_update BEFORE UPDATE ON document_versions
    FOR EACH ROW EXECUTE FUNCTION document_versions_immutable();

CREATE TABLE document_previews (
    document_id uuid PRIMARY KEY,
    kind        text NOT NULL,
    version     integer NOT NULL,
    number      text NOT NULL,
    issued_at   timestamptz NOT NULL,
    draft       jsonb NOT NULL,
    context     jsonb NOT NULL,
    pdf         bytea NOT NULL,
    sha256      text NOT NULL,
    render_ms   real NOT NULL
);
