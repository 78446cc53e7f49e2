"""Signing keys: the practice's own Ed25519 key pair, and the practice keys the network office trusts.

Where the private key lives (the choice, and why): the key pair is created on first need and kept in
the database (``signing_key``), the private half encrypted with Fernet (AES-128-CBC + HMAC-SHA256).
The encryption key is *not* in the database and never in a settings file:

1. in the operating system's keyring (Windows Credential Manager, macOS Keychain, Secret Service on
   Linux) when one is usable - a copy of the database alone then cannot sign anything;
2. otherwise in a key file readable by the owner only (mode 0600, in a 0700 folder) in the user's
   data folder, ``CareNetDesktop/keys/<fingerprint>.key``, away from the database folder and its backups.

``CARENET_KEYRING=0`` turns the keyring off (tests, shared service accounts) and ``CARENET_KEY_DIR``
moves the key-file folder. Losing the encryption key only means generating a new key pair and having
the office register the new public key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import platformdirs
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from ..interchange.submission import PackageError, fingerprint, load_public_key_pem, public_key_pem
from ..models import Practice, SigningKey, TrustedKey, utcnow
from . import audit
from .context import ServiceContext, ServiceError
from .permissions import require

KEYRING_SERVICE = "CareNet Desktop submission signing"


@dataclass(frozen=True)
class PublicKeyInfo:
    practice_code: str
    fingerprint: str
    pem: str
    protection: str = ""  # keyring | keyfile (own keys only)


def format_fingerprint(hex_digest: str) -> str:
    """``SHA256:ab12 cd34 ...``: easier to read out over the phone."""
    return "SHA256:" + " ".join(hex_digest[i:i + 4] for i in range(0, len(hex_digest), 4))


class _Keyring(Protocol):
    """The part of the ``keyring`` module used here."""

    def get_password(self, service_name: str, username: str) -> str | None: ...
    def set_password(self, service_name: str, username: str, password: str) -> None: ...


class WrappingKeys:
    """Where the key that encrypts the private signing key is kept: OS keyring, else a 0600 file."""

    def __init__(self, folder: Path | None = None, use_keyring: bool | None = None) -> None:
        env_dir = os.environ.get("CARENET_KEY_DIR")
        self.folder = folder or (Path(env_dir) if env_dir else
                                 Path(platformdirs.user_data_dir("CareNetDesktop", appauthor=False)) / "keys")
        if use_keyring is None:
            use_keyring = os.environ.get("CARENET_KEYRING", "1") not in ("0", "false", "no")
        self.use_keyring = use_keyring

    def _keyring(self) -> _Keyring | None:
        if not self.use_keyring:
            return None
        try:
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
        except Exception:  # noqa: BLE001 - no usable keyring is an expected situation
            return None
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
            return None
        return keyring

    def store(self, name: str, secret: bytes) -> str:
        """Keep ``secret`` under ``name``; returns where: "keyring" or "keyfile"."""
        kr = self._keyring()
        if kr is not None:
            try:
                kr.set_password(KEYRING_SERVICE, name, secret.decode("ascii"))
                return "keyring"
            except Exception:  # noqa: BLE001 - a locked or refusing keyring: fall back to the file
                pass
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        path = self.folder / f"{name}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secret)
        finally:
            os.close(fd)
        os.chmod(path, 0o600)
        return "keyfile"

    def load(self, name: str, protection: str) -> bytes:
        if protection == "keyring":
            kr = self._keyring()
            secret = kr.get_password(KEYRING_SERVICE, name) if kr is not None else None
            if secret is None:
                raise ServiceError("The key that unlocks this practice's signing key is not in the keyring; "
                                   "create a new key pair (carenet keys new) and register it with the office.")
            return secret.encode("ascii")
        path = self.folder / f"{name}.key"
        try:
            return path.read_bytes().strip()
        except OSError:
            raise ServiceError(f"The key file that unlocks this practice's signing key is missing ({path}); "
                               "create a new key pair (carenet keys new) and register it with the office.") from None


def _practice_code(ctx: ServiceContext, code: str | None) -> str:
    with ctx.db.session() as s:
        codes = list(s.scalars(select(Practice.code).order_by(Practice.code)))
    if code is None:
        if len(codes) != 1:
            raise ServiceError("Name the practice (--practice CODE): "
                               + ("the store has no practice." if not codes else f"the store holds {len(codes)}."))
        return codes[0]
    if code not in codes:
        raise ServiceError(f"Unknown practice code: {code}")
    return code


def _practice_id(ctx: ServiceContext, code: str) -> int | None:
    with ctx.db.session() as s:
        return s.scalar(select(Practice.id).where(Practice.code == code))


def create_signing_key(ctx: ServiceContext, practice_code: str | None = None,
                       wrapping: WrappingKeys | None = None) -> PublicKeyInfo:
    """A new key pair for the practice; the previous one (if any) is retired."""
    code = _practice_code(ctx, practice_code)
    require(ctx, "aggregates.write", _practice_id(ctx, code))
    wrapping = wrapping or WrappingKeys()
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    fp = fingerprint(public)
    secret = Fernet.generate_key()
    protection = wrapping.store(fp, secret)
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    with ctx.db.session() as s:
        for old in s.scalars(select(SigningKey).where(SigningKey.practice_code == code, SigningKey.retired_at.is_(None))):
            old.retired_at = utcnow()
        s.add(SigningKey(practice_code=code, fingerprint=fp, public_key_pem=public_key_pem(public),
                         private_key=Fernet(secret).encrypt(raw), protection=protection))
        audit.record(s, ctx.username, "create", "signing_key", fp[:16], summary=f"New signing key for practice {code}")
    return PublicKeyInfo(code, fp, public_key_pem(public), protection)


def own_public_key(ctx: ServiceContext, practice_code: str | None = None, *,
                   wrapping: WrappingKeys | None = None) -> PublicKeyInfo:
    """The practice's current public key, creating the key pair on first need."""
    code = _practice_code(ctx, practice_code)
    with ctx.db.session() as s:
        row = s.scalars(select(SigningKey).where(SigningKey.practice_code == code, SigningKey.retired_at.is_(None))
                        .order_by(SigningKey.id.desc())).first()
        if row is not None:
            return PublicKeyInfo(code, row.fingerprint, row.public_key_pem, row.protection)
    return create_signing_key(ctx, code, wrapping)


def signing_key(ctx: ServiceContext, practice_code: str, *, wrapping: WrappingKeys | None = None) -> Ed25519PrivateKey:
    """The practice's private key, decrypted for signing (created on first need)."""
    wrapping = wrapping or WrappingKeys()
    info = own_public_key(ctx, practice_code, wrapping=wrapping)
    with ctx.db.session() as s:
        row = s.scalars(select(SigningKey).where(SigningKey.fingerprint == info.fingerprint)).one()
        encrypted, protection = row.private_key, row.protection
    secret = wrapping.load(info.fingerprint, protection)
    try:
        raw = Fernet(secret).decrypt(encrypted)
    except (InvalidToken, ValueError):
        raise ServiceError("The practice's signing key cannot be unlocked (its encryption key does not match).") from None
    return Ed25519PrivateKey.from_private_bytes(raw)


# --------------------------------------------------------------------------------- office: trusted keys


def trust_key(ctx: ServiceContext, practice_code: str, pem_text: str) -> PublicKeyInfo:
    """Register a practice's public key (from its ``carenet keys show``) as trusted for its packages."""
    require(ctx, "practices.manage")
    code = practice_code.strip()
    if not code:
        raise ServiceError("A practice code is required.")
    try:
        key = load_public_key_pem(pem_text)
    except PackageError as exc:
        raise ServiceError(str(exc)) from None
    fp = fingerprint(key)
    pem = public_key_pem(key)
    with ctx.db.session() as s:
        existing = s.scalars(select(TrustedKey).where(TrustedKey.practice_code == code, TrustedKey.fingerprint == fp)).first()
        if existing is not None:
            existing.revoked_at = None
        else:
            s.add(TrustedKey(practice_code=code, fingerprint=fp, public_key_pem=pem, registered_by=ctx.username))
        audit.record(s, ctx.username, "create", "trusted_key", fp[:16], summary=f"Trusted a signing key of practice {code}")
    return PublicKeyInfo(code, fp, pem)


def revoke_key(ctx: ServiceContext, practice_code: str, fingerprint_prefix: str) -> int:
    """Stop trusting the practice's keys whose fingerprint starts with ``fingerprint_prefix``."""
    require(ctx, "practices.manage")
    prefix = fingerprint_prefix.removeprefix("SHA256:").replace(" ", "").lower()
    if len(prefix) < 8:
        raise ServiceError("Give at least 8 characters of the fingerprint.")
    with ctx.db.session() as s:
        rows = [k for k in s.scalars(select(TrustedKey).where(TrustedKey.practice_code == practice_code,
                                                               TrustedKey.revoked_at.is_(None)))
                if k.fingerprint.startswith(prefix)]
        for key in rows:
            key.revoked_at = utcnow()
            audit.record(s, ctx.username, "delete", "trusted_key", key.fingerprint[:16],
                         summary=f"Revoked a signing key of practice {practice_code}")
    if not rows:
        raise ServiceError(f"No trusted key of practice {practice_code} starts with {fingerprint_prefix}.")
    return len(rows)


def trusted_keys(ctx: ServiceContext, practice_code: str | None = None) -> list[PublicKeyInfo]:
    stmt = select(TrustedKey).where(TrustedKey.revoked_at.is_(None)).order_by(TrustedKey.practice_code, TrustedKey.id)
    if practice_code is not None:
        stmt = stmt.where(TrustedKey.practice_code == practice_code)
    with ctx.db.session() as s:
        return [PublicKeyInfo(k.practice_code, k.fingerprint, k.public_key_pem) for k in s.scalars(stmt)]


def trusted_public_keys(ctx: ServiceContext, practice_code: str) -> Iterable[Ed25519PublicKey]:
    for info in trusted_keys(ctx, practice_code):
        key = load_public_key_pem(info.pem)
        yield key
