-- Logout and revocation (issue 15): access tokens are stateless JWTs, so a
-- user's tokens issued before this time are refused (checked on every
-- authenticated request and on refresh). Set to now() by a logout, a
-- password change and disabling the user; NULL: none revoked.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;
