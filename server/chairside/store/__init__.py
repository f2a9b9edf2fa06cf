"""Persistence: PostgreSQL through asyncpg (embedded by default), migrations,
and the stores built on it.  All of Chairside's SQL is here, one module per
kind of data:

- :mod:`.db`: the database and its pool (JSON and ids converted on the way in and out)
- :mod:`.migrations`: the schema, versioned SQL files applied at start-up
- :mod:`.accounts`: clinics, users and their passwords, the demo practice of a first start
- :mod:`.keys`: the server's secret keys (the access tokens' signing key)
- :mod:`.patients`: patients of a practice, their erasure, the documents' context
- :mod:`.rooms`: rooms of a practice and each room's event log
- :mod:`.journal`: what a dictation session commits, as it goes
- :mod:`.sessions`: sessions as the API reads them
- :mod:`.documents`: document versions and previews, whose they are, their lists
- :mod:`.audit`: the hash-chained audit trail

It imports nothing of Chairside but :mod:`chairside.config`,
:mod:`chairside.record` and itself.
"""
