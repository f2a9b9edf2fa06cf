"""Practices and their people: clinics, users (argon2id password hashes);
the demo practice of a first start.  Values are checked with the same
models as the documents' context (RPPS with its check digit, phone numbers
in international form).  Rooms are in :mod:`.rooms`, patients in
:mod:`.patients`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from ..record.context import Address, Clinic, Practitioner
from ..record.ids import as_id, new_id
from .errors import AccountError, first_error
from .rooms import create_room

Role = Literal["dentist", "assistant", "admin"]
ROLES = ("dentist", "assistant", "admin")
MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True)
class User:
    id: str
    clinic_id: str
    email: str
    name: str
    role: str


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


def new_password() -> str:
    """A random password for a demo or a first login (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


async def create_clinic(pool: asyncpg.Pool, name: str, *, street: str = "", postcode: str = "", city: str = "",
                        country: str = "France", phone: str | None = None, email: str | None = None) -> str:
    if not name.strip():
        raise AccountError("a clinic needs a name")
    try:
        clinic = Clinic(name=name, address=Address(street=street, postcode=postcode, city=city, country=country),
                        phone=phone, email=email)
    except ValueError as exc:
        raise AccountError(first_error(exc)) from exc
    clinic_id = new_id()
    a = clinic.address
    await pool.execute(
        "INSERT INTO clinics (id, name, street, postcode, city, country, phone, email) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        clinic_id, clinic.name, a.street, a.postcode, a.city, a.country, clinic.phone, clinic.email)
    return clinic_id


async def create_user(pool: asyncpg.Pool, clinic_id: str, *, email: str, name: str, role: str, password: str,
                      rpps: str = "", title: str = "Chirurgien-dentiste", phone: str | None = None) -> User:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    try:
        who = Practitioner(name=name, title=title, rpps=rpps, email=email, phone=phone)
    except ValueError as exc:
        raise AccountError(first_error(exc)) from exc
    if not who.name:
        raise AccountError("a user needs a name")
    clinic = as_id(clinic_id)
    if clinic is None:
        raise AccountError(f"not a clinic id: {clinic_id!r}")
    user_id = new_id()
    try:
        await pool.execute(
            "INSERT INTO users (id, clinic_id, email, name, role, password_hash, title, rpps, phone)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            user_id, clinic, who.email, who.name, role, hash_password(password), who.title, who.rpps or None, who.phone)
    except asyncpg.UniqueViolationError as exc:
        raise AccountError(f"a user with the e-mail {email} exists already") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise AccountError(f"no clinic {clinic_id}") from exc
    return User(user_id, clinic, who.email or "", who.name, role)


async def authenticate(pool: asyncpg.Pool, email: str, password: str) -> User | None:
    """The user these credentials are, or None (same answer for an unknown
    e-mail and a wrong password; an unknown e-mail costs a hash too)."""
    row = await pool.fetchrow("SELECT * FROM users WHERE lower(email) = lower($1) AND disabled_at IS NULL", email)
    if row is None:
        password_matches(_dummy_hash(), password)
        return None
    if not password_matches(row["password_hash"], password):
        return None
    return User(row["id"], row["clinic_id"], row["email"], row["name"], row["role"])


async def change_password(pool: asyncpg.Pool, user_id: str, current: str, new: str) -> bool:
    """Set a new password (12 characters at least) if ``current`` is right."""
    new_hash = hash_password(new)  # AccountError when too short, before anything is checked
    row = await pool.fetchrow("SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL", user_id)
    if row is None or not password_matches(row["password_hash"], current):
        return False
    await pool.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, new_hash)
    return True


async def active_user(pool: asyncpg.Pool, user_id: str, clinic_id: str) -> asyncpg.Record | None:
    """The name and role of a user of this clinic who may still log in; None otherwise."""
    return await pool.fetchrow("SELECT name, role FROM users WHERE id = $1 AND clinic_id = $2 AND disabled_at IS NULL",
                               user_id, clinic_id)


async def profile(pool: asyncpg.Pool, user_id: str) -> asyncpg.Record | None:
    """A user (id, email, name, role, rpps) with their clinic's id and name (clinic_id, clinic)."""
    return await pool.fetchrow(
        "SELECT u.id, u.email, u.name, u.role, u.rpps, c.id AS clinic_id, c.name AS clinic FROM users u"
        " JOIN clinics c ON c.id = u.clinic_id WHERE u.id = $1", user_id)


async def users_of(pool: asyncpg.Pool, clinic_id: str) -> list[asyncpg.Record]:
    """A clinic's users by name (id, email, name, role, rpps, disabled_at: no password hashes)."""
    return await pool.fetch("SELECT id, email, name, role, rpps, disabled_at FROM users WHERE clinic_id = $1 ORDER BY name", clinic_id)


async def disable_user(pool: asyncpg.Pool, clinic_id: str, user_id: str) -> bool:
    """Disable a user of this clinic (again is fine); False if there is no such user."""
    done = await pool.fetchval(
        "UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1 AND clinic_id = $2 RETURNING id",
        user_id, clinic_id)
    return done is not None


async def clinic_count(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM clinics")


async def demo_clinic_on_first_start(pool: asyncpg.Pool) -> tuple[str, str] | None:
    """On an empty store, a demo practice (:func:`create_demo_clinic`): its
    dentist's e-mail and password; None if the store has a clinic.  Replicas
    starting together wait for each other: one of them creates it."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('chairside-first-start'))")
        if await clinic_count(conn):
            return None
        return await create_demo_clinic(conn)


async def create_demo_clinic(pool: asyncpg.Pool) -> tuple[str, str]:
    """A demo practice for a first start on an empty store: its dentist's
    e-mail and a random password (to be changed)."""

    clinic_id = await create_clinic(pool, "Cabinet dentaire de démonstration", street="1 rue de la Démonstration",
                                    postcode="75001", city="Paris", phone="01 00 00 00 00")
    password = new_password()
    email = "dentiste@demo.chairside.local"
    await create_user(pool, clinic_id, email=email, name="Dr Démo", role="dentist", password=password)
    await create_user(pool, clinic_id, email="admin@demo.chairside.local", name="Administrateur", role="admin",
                      password=new_password())
    for room in ("Fauteuil 1", "Fauteuil 2"):
        await create_room(pool, clinic_id, room)
    return email, password


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against for an unknown e-mail, so that it costs what a wrong password does."""
    return _hasher.hash("an unknown user's password costs the same time")
