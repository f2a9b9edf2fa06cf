"""Persistence: PostgreSQL through asyncpg (embedded by default), migrations,
and the stores built on it."""
