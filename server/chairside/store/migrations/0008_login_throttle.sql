-- Failed logins, counted per account and per source address (issue 15), in
-- the store so that the back-off holds whichever replica answers and across
-- restarts. A key is 'account:' or 'address:' and a keyed hash (HMAC with
-- the token-signing key) of the lower-cased e-mail or of the address: the
-- table names nobody. `retry_at`: no attempt of the key is checked before;
-- `forget_at`: the count starts again after (15 minutes after the wait ends).
CREATE TABLE login_failures (
    key        text PRIMARY KEY,
    failures   integer NOT NULL,
    last_at    timestamptz NOT NULL,
    retry_at   timestamptz NOT NULL,
    forget_at  timestamptz NOT NULL
);
CREATE INDEX login_failures_forget ON login_failures (forget_at);
