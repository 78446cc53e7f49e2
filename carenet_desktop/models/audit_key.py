"""The key of the audit chain: kept outside the store, so whoever can edit the table cannot re-sign it.

Each audit entry's hash is an HMAC-SHA256 under a 256-bit key; the chain's head row is MACed too. The key
lives **outside the database**:

- ``$CARENET_AUDIT_KEY`` (64 hex digits) when set: the way to share one key between the desktops of a
  PostgreSQL store (the administrator gives it to each), or to keep it in a secrets manager;
- otherwise a file ``<user-data folder>/audit-keys/<key id>.key`` (mode 0600; ``$CARENET_AUDIT_KEY_DIR``
  to choose the folder), created with the store's first keyed entry. It is not in the store and not in
  its backups: copy it with the store when moving a store to another computer.

The head row names the key by its id (a digest of the key, never the key). Whoever holds both the store
and the key can still rewrite the trail; the copies of the head hash that left the store (backup
manifests, submission packages) show such a rewrite against any earlier copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

AUDIT_KEY_ENV = "CARENET_AUDIT_KEY"
AUDIT_KEY_DIR_ENV = "CARENET_AUDIT_KEY_DIR"


class AuditKeyError(Exception):
    """The audit key given in the environment is not usable."""


def key_dir() -> Path:
    folder = os.environ.get(AUDIT_KEY_DIR_ENV)
    if folder:
        return Path(folder)
    from .database import user_data_dir

    return user_data_dir() / "audit-keys"


def key_id(key: bytes) -> str:
    """The public name of a key (what the head row stores)."""
    return hashlib.sha256(b"carenet-audit-key-id\0" + key).hexdigest()[:32]


def _env_key() -> bytes | None:
    text = os.environ.get(AUDIT_KEY_ENV)
    if not text:
        return None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise AuditKeyError(f"${AUDIT_KEY_ENV} must be 64 hexadecimal digits.") from None
    if len(key) != 32:
        raise AuditKeyError(f"${AUDIT_KEY_ENV} must be 64 hexadecimal digits.")
    return key


#: keys read from key files, by (file, id): every audit entry needs the key
_loaded: dict[tuple[Path, str], bytes] = {}


def load_key(wanted: str) -> bytes | None:
    """The key named ``wanted``, from the environment or the key folder; None when not on this computer."""
    env = _env_key()
    if env is not None and key_id(env) == wanted:
        return env
    if not all(c in "0123456789abcdef" for c in wanted):
        return None
    path = key_dir() / f"{wanted}.key"
    if (path, wanted) in _loaded:
        return _loaded[path, wanted]
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if key_id(key) != wanted:
        return None
    _loaded[path, wanted] = key
    return key


def new_key() -> tuple[str, bytes]:
    """A key for a store: ``$CARENET_AUDIT_KEY`` when set, else a new random key saved in the key folder."""
    env = _env_key()
    if env is not None:
        return key_id(env), env
    key = secrets.token_bytes(32)
    name = key_id(key)
    folder = key_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / f"{name}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return name, key


def mac(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, entries: int, last_hash: str | None, keyed_from: int | None, kid: str | None) -> str:
    """The MAC of the head row: its count, last hash, first keyed entry and key id."""
    return mac(key, json.dumps(["audit-head", entries, last_hash, keyed_from, kid]))
