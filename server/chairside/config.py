"""Every setting in one place.

Each field of :class:`Settings` is read from an environment variable
``CHAIRSIDE_<NAME>`` (upper case); command-line flags override them.  The
table in the README is checked against this module by the tests.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

ENV_PREFIX = "CHAIRSIDE_"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("chairside", appauthor=False))


def _setting(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    # Server
    host: str = _setting("127.0.0.1", "Address the HTTP/WebSocket server listens on.")
    port: int = _setting(8000, "TCP port of the server.")
    log_level: str = _setting("info", "Logging level: debug, info, warning, error.")
    tls_cert: str = _setting("", "The practice's TLS certificate chain (PEM) for HTTPS; with `tls_key`. Empty: on a loopback address, plain HTTP; beyond it, a certificate of Chairside's own local CA (<data_dir>/tls).")
    tls_key: str = _setting("", "The private key (PEM) of `tls_cert`.")
    tls_names: str = _setting("", "More host names or addresses the local CA's server certificate names, comma-separated (the machine's own are found).")
    trusted_proxy: str = _setting("", "Address of a TLS-terminating reverse proxy (e.g. Caddy): the server then speaks plain HTTP beyond loopback and believes X-Forwarded-For/-Proto from that address (and from this machine's loopback), from no other. Comma-separated for several.")
    http_redirect_port: int = _setting(8080, "With HTTPS beyond loopback, a plain-HTTP port that only redirects to the HTTPS one (0: none).")
    data_dir: str = _setting("", "Where Chairside keeps its data; empty means the user's data directory (e.g. ~/.local/share/chairside).")
    database_url: str = _setting("", "PostgreSQL to use (postgresql://user:password@host/db); empty means DATABASE_URL, and if that is empty too, the embedded PostgreSQL under <data_dir>/pgdata.")
    db_acquire_timeout_s: float = _setting(10.0, "Longest wait for one of the pool's PostgreSQL connections; past it the request fails with 503 `database_busy` (and a dictation's final is retried from its journal on resume) rather than wait forever.")
    db_pool_size: int = _setting(10, "PostgreSQL connections this server process keeps at most.")
    token_ttl_s: int = _setting(900, "Lifetime of an access token (seconds); a client refreshes it before it ends (POST /v1/auth/refresh).")
    session_max_s: int = _setting(12 * 3600, "Longest session (seconds): tokens are refreshed until this long after the login (the password given), then the user logs in again.")
    token_check_s: float = _setting(5.0, "How often an open dictation or screen checks that its user may still log in (a disabled user's connections close within this time, on every replica).")
    document_retention_years: int = _setting(20, "When a patient is erased, validated documents issued less than this many years ago are kept (legal records); 0 erases them too.")
    max_screens: int = _setting(100, "Room screens (WS /v1/rooms/{room}/events) this server feeds at once; more are refused with `server_busy` (1013).")
    max_screens_per_user: int = _setting(6, "Screens one user watches at once on this server (tabs, PCs); more are refused with `too_many_screens` (4429).")
    max_screens_per_practice: int = _setting(0, "Screens of one practice on this server (0: only `max_screens` bounds them); more are refused with `server_busy`.")
    partial_retention_s: float = _setting(600.0, "Partials are kept in a room's log this long (what a screen reconnecting needs to catch up exactly), then deleted; the live feed shows them all, the transcript keeps only finals. 0: kept.")
    room_event_retention_days: int = _setting(30, "A room's log (the live feed of its screens) keeps events this many days; transcripts and documents stay in their own tables. 0: kept.")
    unattached_session_retention_days: int = _setting(30, "Dictation sessions with no patient are deleted this many days after they ended, with their transcript and drafts (a document validated in one is kept). 0: kept.")
    backup_dir: str = _setting("", "Where the server writes its scheduled encrypted backups (chairside-<UTC time>.backup and .sha256; one replica at a time); empty: no scheduled backups (`chairside backup FILE` by hand).")
    backup_every_h: float = _setting(24.0, "Hours between scheduled backups (the first one an hour after the start).")
    backup_keep: int = _setting(14, "Scheduled backups kept in backup_dir; older ones are deleted after each new one.")
    backup_passphrase_file: str = _setting("", "File holding the scheduled backups' passphrase (12 characters or more); required with backup_dir.")
    retention_check_s: float = _setting(3600.0, "How often the retention job runs (one replica at a time).")
    screen_queue: int = _setting(256, "Events queued for one room screen; a screen further behind gets a fresh snapshot instead.")
    webrtc_ice_servers: str = _setting("", "STUN/TURN servers for WebRTC, as JSON: [{\"urls\": \"turn:turn.example:3478\", \"username\": \"…\", \"credential\": \"…\"}]; empty: host candidates only (the practice's network; nothing asked of outside servers).")
    webrtc_grace_s: float = _setting(5.0, "A WebRTC peer disconnected for this long is released (its session abandoned).")
    # Speech model
    model: str = _setting("base", "Speech model: a catalogue name (`chairside models list`) or the path of a CTranslate2 Whisper directory.")
    models_dir: str = _setting("", "Where catalogue models are installed; empty means <data_dir>/models.")
    compute_type: str = _setting("int8", "CTranslate2 compute type (int8, int8_float32, float32, ...).")
    threads: int = _setting(1, "CPU threads of one decode. 1 is fastest for Whisper base on a small machine (measured: docs/benchmarks.md).")
    asr_workers: int = _setting(0, "Decodes that run in parallel, each with `threads` threads; 0 means one per core.")
    language: str = _setting("fr", "Default session language (fr or en).")
    timezone: str = _setting("Europe/Paris", "The practice's time zone: dates and times printed on documents, \"jeudi prochain\" in dictation.")
    # Streaming recognition
    partial_interval_s: float = _setting(0.5, "Re-decode the open utterance for a partial after at least this much new audio (seconds); partials are shown, finals are decoded afresh.")
    partial_beam_size: int = _setting(1, "Beam size of partial decodes (1 = greedy, fastest).")
    final_beam_size: int = _setting(5, "Beam size of the final decode at the end of an utterance.")
    agreement_n: int = _setting(3, "LocalAgreement-n: consecutive partial hypotheses that must agree before words become stable in partials (2 = classic, 3 = fewer early mistakes shown).")
    asr_window_s: float = _setting(15.0, "Longest audio decoded at once; a longer utterance is cut at a word boundary while it is said, so that its final decodes only the rest (must stay under Whisper's 30 s; 15 s measured against 25 s in docs/benchmarks.md).")
    asr_context_s: float = _setting(10.0, "An utterance that follows a short pause is decoded with up to this much audio of the phrase before it, whose text is forced as the decoder's prefix (0 = each utterance alone).")
    asr_context_pause_s: float = _setting(3.0, "Longest pause (between VAD speech_end and speech_start) across which the phrase before is decoded with an utterance.")
    asr_context_late_s: float = _setting(0.6, "While finals come later than this after the end of speech (VAD speech_end → final, 90th percentile of the last 30 s, once 5 finals are in it) and other streams are being recognised, the phrase before decoded with a final after a short pause shrinks to `asr_context_late_cap_s`, and to none when another final is decoding or waiting; a dentist alone keeps it all (0: never). Below the 1-s goal for finals, so that their 95th percentile stays near it on a loaded server.")
    asr_context_late_cap_s: float = _setting(4.0, "The most audio of the phrase before decoded with a final while finals come late (see `asr_context_late_s`).")
    partial_cpu_share: float = _setting(0.2, "Partials wait until their decodes take at most this share of a decoder per second of audio: slow or busy decodes mean fewer partials (0 = every partial_interval_s).")
    # Voice activity detection
    vad_threshold: float = _setting(0.5, "Silero speech probability that starts speech (speech ends below threshold - 0.15).")
    vad_min_speech_ms: int = _setting(250, "Speech shorter than this is ignored.")
    vad_min_silence_ms: int = _setting(500, "Silence that ends an utterance.")
    vad_speech_pad_ms: int = _setting(200, "Audio kept before speech starts and after it ends.")
    vad_max_utterance_s: float = _setting(60.0, "An utterance is ended after this long even without a pause.")
    # Dictation
    sign_without_readback: bool = _setting(False, "An exact validate phrase (\"valide\", \"valide et imprime\") signs at once; by default the document is read back (a readback event) and signed only on \"oui\".")
    line_silence_s: float = _setting(4.0, "A silence this long closes the draft line being dictated; shorter pauses never do: a line ends when the next one begins, on \"à la ligne\" or on a command.")
    # Limits
    max_sessions: int = _setting(8, "Concurrent streaming sessions; more are refused with `server_busy`. A slot is taken only once the session's `start` is authenticated.")
    max_sessions_per_user: int = _setting(2, "Concurrent sessions of one dentist (a resumed session and the one it replaces count twice); more are refused with `too_many_sessions`.")
    busy_final_wait_s: float = _setting(0.5, "New sessions are refused with `server_busy` while finals wait longer than this for the recognizer (90th percentile of the last 30 s): open sessions' finals come first (0: never).")
    busy_final_delay_s: float = _setting(1.0, "New sessions are refused with `server_busy` while finals come later than this after the end of speech (VAD speech_end → final, 90th percentile of the last 30 s, once 5 finals are in it): open sessions' finals come first (0: never).")
    max_sessions_per_practice: int = _setting(0, "Concurrent sessions of one practice on this server (0: only `max_sessions` bounds them); more are refused with `server_busy`.")
    database_check_s: float = _setting(5.0, "How often the server checks that PostgreSQL answers; the embedded one not answering three times in a row stops the server (exit code 3) rather than serving errors.")
    requests_per_s: float = _setting(10.0, "Typed `text`, `preview` and `accept` messages a session may send a second (a burst of three seconds' worth first); more are refused with `rate_limited`.")
    shutdown_grace_s: float = _setting(8.0, "On SIGTERM, how long open sessions have to finish what was said (finals sent, `closed` with reason `shutdown`) before the server stops.")
    start_timeout_s: float = _setting(5.0, "A /v1/stream connection that has not sent an authenticated `start` within this time is closed (`start_timeout`).")
    max_session_s: float = _setting(4 * 3600.0, "Longest session, in seconds of audio.")
    idle_timeout_s: float = _setting(30.0, "A session that receives nothing for this long is closed.")
    max_frame_bytes: int = _setting(512 * 1024, "Largest binary audio frame accepted.")
    max_audio_speed: float = _setting(2.0, "A /v1/stream session may send audio at most this many times faster than real time, after 10 s of lead; faster is refused (`audio_too_fast`). 0: no limit (a batch client transcribing a file).")
    login_failures_per_account: int = _setting(5, "Failed logins of one account (its e-mail) within 15 minutes before each further attempt must wait 2, 4, 8 … seconds (15 minutes at most; 429 `too_many_attempts` meanwhile, the password unchecked); a success starts again.")
    login_failures_per_address: int = _setting(20, "The same for one source address, whatever the accounts (a practice behind one address shares it); a success does not reset it.")
    password_workers: int = _setting(0, "Threads that hash and check passwords (argon2id: 100–200 ms of CPU each, its 4 lanes in threads of their own), off the event loop; 0 means half the cores (at least 1). Beyond 16 waiting, a login answers 503 `server_busy`.")
    max_vocabulary_terms: int = _setting(64, "Most vocabulary terms a session may send.")
    default_vocabulary: bool = _setting(True, "Prompt the recognizer with the voice commands and common dental terms when a session sends no vocabulary (measured: docs/benchmarks.md).")
    draft_vocabulary: bool = _setting(True, "While a document is dictated, the default prompt is that document's words instead (the formulary's drugs; work types and materials; certificate and report terms), with the commands (measured: docs/benchmarks.md).")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else default_data_dir()

    @property
    def models_path(self) -> Path:
        return Path(self.models_dir) if self.models_dir else self.data_path / "models"

    @property
    def cpu_threads(self) -> int:
        return self.threads or (os.cpu_count() or 1)

    @property
    def decode_workers(self) -> int:
        return self.asr_workers or max(1, (os.cpu_count() or 1) // self.cpu_threads)


def _parse(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, type) else {"int": int, "float": float, "str": str, "bool": bool}[f.type]
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return kind(raw)
    except ValueError as exc:
        raise SystemExit(f"{ENV_PREFIX}{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from exc


def settings_table() -> str:
    """The configuration table of the README, as Markdown."""
    rows = ["| setting | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        default = f.default if f.default != "" else "(empty)"
        rows.append(f"| {f.name} | `{ENV_PREFIX}{f.name.upper()}` | `{default}` | {f.metadata['doc']} |")
    return "\n".join(rows)
