-- Practices and the people in them: clinics, practitioners, users, patients, rooms.
CREATE TABLE clinics (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    street      text NOT NULL DEFAULT '',
    postcode    text NOT NULL DEFAULT '',
    city        text NOT NULL DEFAULT '',
    country     text NOT NULL DEFAULT 'France',
    phone       text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    clinic_id      uuid NOT NULL REFERENCES clinics (id),
    email          text NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL CHECK (role IN ('dentist', 'assistant', 'admin')),
    password_hash  text NOT NULL,  -- argon2id
    -- a dentist's professional identity, printed on documents
    title          text NOT NULL DEFAULT 'Chirurgien-dentiste',
    specialty      text NOT NULL DEFAULT '',
    rpps           text CHECK (rpps IS NULL OR rpps ~ '^[0-9]{11}$'),
    phone          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_clinic ON users (clinic_id);

CREATE TABLE patients (
    id          uuid PRIMARY KEY,
    clinic_id   uuid NOT NULL REFERENCES clinics (id),
    code        text NOT NULL,
    last_name   text NOT NULL,
    first_name  text NOT NULL,
    sex         text CHECK (sex IN ('F', 'M', 'X')),
    birth_date  date,
    weight_kg   real CHECK (weight_kg IS NULL OR (weight_kg > 0 AND weight_kg <= 400)),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, code)
);

CREATE TABLE rooms (
    id          uuid PRIMARY KEY,
    clinic_id   uuid NOT NULL REFERENCES clinics (id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, name)
);

ALTER TABLE dictation_sessions
    ADD COLUMN clinic_id uuid REFERENCES clinics (id),
    ADD COLUMN room_id uuid REFERENCES rooms (id),
    ADD COLUMN user_id uuid REFERENCES users (id),
    ADD COLUMN patient_id uuid REFERENCES patients (id);
