-- The first start in the browser (issue 14): an account created with a
-- temporary password (by an admin, or by the setup) must change it at its
-- first login; until then its tokens say so and only the password change,
-- `GET /v1/me` and the refresh are answered.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
