"""Practices and their people: clinics, users (argon2id password hashes);
the first practice, set up in the browser (:func:`set_up`), and the demo
practice on request (:func:`create_demo_clinic`).  Values are checked with the same
models as the documents' context (RPPS with its check digit, phone numbers
in international form).  Rooms are in :mod:`.rooms`, patients in
:mod:`.patients`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

import asyncpg

from ..record.context import Address, Clinic, Practitioner
from ..record.ids import as_id, new_id
from .errors import AccountError, first_error
from . import passwords, patients
from .rooms import create_room

Role = Literal["dentist", "assistant", "admin"]
ROLES = ("dentist", "assistant", "admin")
MIN_PASSWORD = 12


@dataclass(frozen=True)
class User:
    id: str
    clinic_id: str
    email: str
    name: str
    role: str
    must_change_password: bool = False


def _long_enough(password: str, field: str = "password") -> None:
    """AccountError naming ``field`` for a password under MIN_PASSWORD characters."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"{field}: a password needs at least {MIN_PASSWORD} characters")


async def hash_password(password: str) -> str:
    """The argon2id hash of a new password (12 characters at least), made off
    the event loop (:mod:`.passwords`; PasswordsBusy when too many wait)."""
    _long_enough(password)
    return await passwords.hash_password(password)


async def password_matches(password_hash: str, password: str) -> bool:
    """Whether the password is right, checked off the event loop."""
    return await passwords.matches(password_hash, password)


def new_password() -> str:
    """A random password for a demo or a first login (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


_CLINIC_FIELDS = ("name", "street", "postcode", "city", "country", "phone", "email")


def _clinic(values: dict) -> Clinic:
    """The clinic's details checked (the same model as the documents' context)."""
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            raise AccountError(f"{key}: must be text")
    if not (values.get("name") or "").strip():
        raise AccountError("name: a practice needs a name")
    try:
        return Clinic(name=values["name"], phone=values.get("phone") or None, email=values.get("email") or None,
                      address=Address(**{k: values.get(k) or "" for k in ("street", "postcode", "city")},
                                      country=values.get("country") or "France"))
    except ValueError as exc:
        raise AccountError(first_error(exc).removeprefix("address.")) from exc


async def create_clinic(pool: asyncpg.Pool, name: str, *, street: str = "", postcode: str = "", city: str = "",
                        country: str = "France", phone: str | None = None, email: str | None = None) -> str:
    clinic = _clinic({"name": name, "street": street, "postcode": postcode, "city": city, "country": country,
                      "phone": phone, "email": email})
    clinic_id = new_id()
    a = clinic.address
    await pool.execute(
        "INSERT INTO clinics (id, name, street, postcode, city, country, phone, email) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        clinic_id, clinic.name, a.street, a.postcode, a.city, a.country, clinic.phone, clinic.email)
    return clinic_id


async def clinic_details(pool: asyncpg.Pool, clinic_id: str) -> dict | None:
    """The practice's details as printed on its documents."""
    row = await pool.fetchrow(f"SELECT id, {', '.join(_CLINIC_FIELDS)} FROM clinics WHERE id = $1", clinic_id)
    return dict(row) if row else None


async def update_clinic(pool: asyncpg.Pool, clinic_id: str, changes: dict) -> dict | None:
    """Change the practice's details (any of name, street, postcode, city,
    country, phone, e-mail), checked as at creation.  Validated documents
    keep the details they were signed with."""
    current = await clinic_details(pool, clinic_id)
    if current is None:
        return None
    unknown = set(changes) - set(_CLINIC_FIELDS)
    if unknown:
        raise AccountError(f"{sorted(unknown)[0]}: not a detail of a practice")
    clinic = _clinic({**current, **changes})
    a = clinic.address
    await pool.execute("UPDATE clinics SET name = $2, street = $3, postcode = $4, city = $5, country = $6, phone = $7, email = $8"
                       " WHERE id = $1", clinic_id, clinic.name, a.street, a.postcode, a.city, a.country, clinic.phone, clinic.email)
    return await clinic_details(pool, clinic_id)


async def create_user(pool: asyncpg.Pool, clinic_id: str, *, email: str, name: str, role: str, password: str,
                      rpps: str = "", title: str = "Chirurgien-dentiste", phone: str | None = None,
                      temporary: bool = False) -> User:
    """A user of the clinic; ``temporary``: the password was chosen by someone
    else (an admin), to be changed at the first login."""
    if role not in ROLES:
        raise AccountError(f"role: must be one of {', '.join(ROLES)}")
    try:
        who = Practitioner(name=name, title=title, rpps=rpps, email=email, phone=phone)
    except ValueError as exc:
        raise AccountError(first_error(exc)) from exc
    if not who.name:
        raise AccountError("name: a user needs a name")
    if not who.email:
        raise AccountError("email: a user needs an e-mail")
    if rpps and role != "dentist":
        raise AccountError("rpps: only a dentist has an RPPS number")
    clinic = as_id(clinic_id)
    if clinic is None:
        raise AccountError(f"not a clinic id: {clinic_id!r}")
    password_hash = await hash_password(password)
    user_id = new_id()
    try:
        await pool.execute(
            "INSERT INTO users (id, clinic_id, email, name, role, password_hash, title, rpps, phone, must_change_password)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            user_id, clinic, who.email, who.name, role, password_hash, who.title, who.rpps or None, who.phone, temporary)
    except asyncpg.UniqueViolationError as exc:
        raise AccountError(f"email: a user with the e-mail {email} exists already") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise AccountError(f"no clinic {clinic_id}") from exc
    return User(user_id, clinic, who.email or "", who.name, role, temporary)


async def authenticate(pool: asyncpg.Pool, email: str, password: str) -> User | None:
    """The user these credentials are, or None (same answer for an unknown
    e-mail and a wrong password; an unknown e-mail costs a hash too)."""
    row = await pool.fetchrow("SELECT * FROM users WHERE lower(email) = lower($1) AND disabled_at IS NULL", email)
    if row is None:
        await password_matches(await passwords.dummy_hash(), password)
        return None
    if not await password_matches(row["password_hash"], password):
        return None
    return User(row["id"], row["clinic_id"], row["email"], row["name"], row["role"], row["must_change_password"])


async def change_password(pool: asyncpg.Pool, user_id: str, current: str, new: str) -> bool:
    """Set a new password (12 characters at least) if ``current`` is right."""
    _long_enough(new, "new_password")  # before anything is checked
    row = await pool.fetchrow("SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL", user_id)
    if row is None or not await password_matches(row["password_hash"], current):
        return False
    new_hash = await hash_password(new)
    await pool.execute("UPDATE users SET password_hash = $2, must_change_password = false, tokens_valid_after = now()"
                       " WHERE id = $1", user_id, new_hash)  # every token issued before is revoked
    return True


async def revoke_tokens(pool: asyncpg.Pool, user_id: str) -> None:
    """Refuse every token of the user issued until now (a logout)."""
    await pool.execute("UPDATE users SET tokens_valid_after = now() WHERE id = $1", user_id)


async def token_state(pool: asyncpg.Pool, user_id: str, clinic_id: str) -> tuple[bool, int | None] | None:
    """Whether a user of this clinic may still use a token (not disabled),
    and since when their tokens are valid (Unix milliseconds, None: any);
    None when there is no such user.  One indexed read: it runs on every
    authenticated request."""
    row = await pool.fetchrow(
        "SELECT disabled_at IS NULL AS active, ceil(extract(epoch FROM tokens_valid_after) * 1000)::bigint AS valid_after_ms"
        " FROM users WHERE id = $1 AND clinic_id = $2", user_id, clinic_id)
    return None if row is None else (row["active"], row["valid_after_ms"])


async def active_user(pool: asyncpg.Pool, user_id: str, clinic_id: str) -> asyncpg.Record | None:
    """The name and role of a user of this clinic who may still log in; None otherwise."""
    return await pool.fetchrow("SELECT name, role, must_change_password FROM users"
                               " WHERE id = $1 AND clinic_id = $2 AND disabled_at IS NULL", user_id, clinic_id)


_PROFILE = "u.id, u.email, u.name, u.role, u.rpps, u.phone, u.title, u.must_change_password"


async def profile(pool: asyncpg.Pool, user_id: str) -> asyncpg.Record | None:
    """A user (id, email, name, role, rpps, phone, title, must_change_password)
    with their clinic's id and name (clinic_id, clinic)."""
    return await pool.fetchrow(
        f"SELECT {_PROFILE}, c.id AS clinic_id, c.name AS clinic FROM users u"
        " JOIN clinics c ON c.id = u.clinic_id WHERE u.id = $1", user_id)


async def users_of(pool: asyncpg.Pool, clinic_id: str) -> list[asyncpg.Record]:
    """A clinic's users by name (no password hashes), with disabled_at."""
    return await pool.fetch(f"SELECT {_PROFILE}, u.disabled_at FROM users u WHERE u.clinic_id = $1 ORDER BY u.name", clinic_id)


async def user_of(pool: asyncpg.Pool, clinic_id: str, user_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow(f"SELECT {_PROFILE}, u.disabled_at FROM users u WHERE u.id = $1 AND u.clinic_id = $2",
                               user_id, clinic_id)


async def update_user(pool: asyncpg.Pool, clinic_id: str, user_id: str, changes: dict) -> asyncpg.Record | None:
    """Change a user's name, phone, title, RPPS, role, or disable / enable
    them (``disabled``); the values are checked as at creation.  None when
    there is no such user in the clinic."""
    row = await user_of(pool, clinic_id, user_id)
    if row is None:
        return None
    unknown = set(changes) - {"name", "phone", "title", "rpps", "role", "disabled"}
    if unknown:
        raise AccountError(f"{sorted(unknown)[0]}: not a field that can be changed")
    role = changes.get("role", row["role"])
    if role not in ROLES:
        raise AccountError(f"role: must be one of {', '.join(ROLES)}")
    rpps = changes.get("rpps", row["rpps"]) or ""
    if rpps and role != "dentist":
        raise AccountError("rpps: only a dentist has an RPPS number")
    for key in ("name", "phone", "title", "rpps"):
        if key in changes and changes[key] is not None and not isinstance(changes[key], str):
            raise AccountError(f"{key}: must be text")
    try:
        who = Practitioner(name=changes.get("name", row["name"]) or "", title=changes.get("title", row["title"]) or "",
                           rpps=rpps, email=row["email"], phone=changes.get("phone", row["phone"]) or None)
    except ValueError as exc:
        raise AccountError(first_error(exc)) from exc
    if not who.name:
        raise AccountError("name: a user needs a name")
    disabled = changes.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise AccountError("disabled: must be true or false")
    await pool.execute(
        "UPDATE users SET name = $3, title = $4, rpps = $5, phone = $6, role = $7,"
        " disabled_at = CASE WHEN $8::boolean IS NULL THEN disabled_at WHEN $8 THEN coalesce(disabled_at, now()) ELSE NULL END,"
        " tokens_valid_after = CASE WHEN $8 AND disabled_at IS NULL THEN now() ELSE tokens_valid_after END"  # disabling revokes
        " WHERE id = $1 AND clinic_id = $2",
        user_id, clinic_id, who.name, who.title, who.rpps or None, who.phone, role, disabled)
    return await user_of(pool, clinic_id, user_id)


async def disable_user(pool: asyncpg.Pool, clinic_id: str, user_id: str) -> bool:
    """Disable a user of this clinic (again is fine), their tokens revoked; False if there is no such user."""
    done = await pool.fetchval(
        "UPDATE users SET disabled_at = coalesce(disabled_at, now()),"
        " tokens_valid_after = CASE WHEN disabled_at IS NULL THEN now() ELSE tokens_valid_after END"
        " WHERE id = $1 AND clinic_id = $2 RETURNING id",
        user_id, clinic_id)
    return done is not None


async def clinic_count(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM clinics")


async def set_up(pool: asyncpg.Pool, practice: dict, admin: dict, dentist: dict, room_names: list[str]) -> dict | None:
    """The first practice of an empty store, in one transaction: its
    details, its first administrator and dentist (whose passwords they chose
    themselves), its rooms.  None when the store has a practice already
    (replicas and two browsers racing: the first one wins).  Bad input raises
    :class:`AccountError` naming its part ("dentist.rpps: …")."""
    for key in ("street", "postcode", "city", "phone"):  # printed on every document: asked for once, here
        if not isinstance(practice.get(key), str) or not practice[key].strip():
            raise AccountError(f"practice.{key}: required (printed on every document)")
    if not room_names or not all(isinstance(n, str) and n.strip() for n in room_names):
        raise AccountError("rooms: at least one room, each with a name")
    if len({n.strip().lower() for n in room_names}) != len(room_names):
        raise AccountError("rooms: two rooms have the same name")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('chairside-first-start'))")
        if await clinic_count(conn):
            return None
        clinic_id = await _part("practice", create_clinic(conn, **{k: practice.get(k) or "" for k in ("name", "street", "postcode", "city")},
                                                           phone=practice.get("phone") or None, email=practice.get("email") or None))
        users = {}
        for part, role, values in (("admin", "admin", admin), ("dentist", "dentist", dentist)):
            users[part] = await _part(part, create_user(
                conn, clinic_id, role=role, email=values.get("email") or "", name=values.get("name") or "",
                password=values.get("password") or "", rpps=values.get("rpps") or "", phone=values.get("phone") or None,
                title=values.get("title") or "Chirurgien-dentiste"))
        if not dentist.get("rpps"):
            raise AccountError("dentist.rpps: a dentist's RPPS number is printed on every document")
        rooms = [{"id": await _part("rooms", create_room(conn, clinic_id, name.strip())), "name": name.strip()} for name in room_names]
        return {"practice": await clinic_details(conn, clinic_id),
                "admin": {"id": users["admin"].id, "email": users["admin"].email},
                "dentist": {"id": users["dentist"].id, "email": users["dentist"].email}, "rooms": rooms}


async def _part(name: str, operation):
    """Run ``operation``; its AccountError names the part of the setup it is about."""
    try:
        return await operation
    except AccountError as exc:
        raise AccountError(f"{name}.{exc}") from None


DEMO_RPPS = "10000000009"  # 11 digits with a valid check digit, as RPPS numbers have; no real practitioner's


async def create_demo_clinic(pool: asyncpg.Pool) -> dict:
    """A demo practice to try Chairside with (``chairside admin create-demo``):
    a dentist with an RPPS, an assistant and an administrator with random
    passwords (printed once), two rooms and a demo patient: everything a
    document needs to be validated."""
    async with pool.acquire() as conn, conn.transaction():
        clinic_id = await create_clinic(conn, "Cabinet dentaire de démonstration", street="1 rue de la Démonstration",
                                        postcode="75001", city="Paris", phone="01 00 00 00 00", email="contact@demo.chairside.local")
        logins = {}
        for role, name, email in (("dentist", "Dr Camille Démo", "dentiste@demo.chairside.local"),
                                  ("assistant", "Alex Démo", "assistant@demo.chairside.local"),
                                  ("admin", "Administrateur Démo", "admin@demo.chairside.local")):
            password = new_password()
            await create_user(conn, clinic_id, email=email, name=name, role=role, password=password,
                              rpps=DEMO_RPPS if role == "dentist" else "", phone="06 00 00 00 00" if role == "dentist" else None)
            logins[role] = {"email": email, "password": password}
        for room in ("Fauteuil 1", "Fauteuil 2"):
            await create_room(conn, clinic_id, room)
        patient = await patients.create(conn, clinic_id, {"last_name": "Démo", "first_name": "Jeanne", "sex": "F",
                                                           "birth_date": "1984-03-07", "weight_kg": 62, "code": "DEMO-0001"})
    return {"clinic_id": clinic_id, "logins": logins, "patient": patient["id"]}
