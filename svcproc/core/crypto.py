"""Encryption at rest and keyed hashes, all derived from one data key kept outside the database.

The data key comes from the DATA_KEY environment variable (base64, 32 bytes) or is generated
once into instance/data_key. Each use (sealed bids, identity numbers, identity matching) gets
its own sub-key, so one purpose's ciphertext or hash tells nothing about another's.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

NONCE_BYTES = 12


class DecryptionError(Exception):
    """Ciphertext was altered, or was sealed with another key."""


@lru_cache(maxsize=8)
def _load_master(instance_path: str, env_value: str | None) -> bytes:
    """The data key, read once per process (every hash and seal needs it)."""
    return _read_master(instance_path, env_value)


def _read_master(instance_path: str, env_value: str | None) -> bytes:
    if env_value:
        key = base64.urlsafe_b64decode(env_value.encode())
        if len(key) != 32:
            raise RuntimeError("DATA_KEY must be 32 bytes, base64 encoded")
        return key
    key_file = Path(instance_path) / "data_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return base64.urlsafe_b64decode(key_file.read_text().strip().encode())


@lru_cache(maxsize=32)
def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


def _key(purpose: str) -> bytes:
    cfg = current_app.config
    master = _load_master(cfg["INSTANCE_PATH"], cfg.get("DATA_KEY"))
    return _derive(master, purpose)


def encrypt(purpose: str, plaintext: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(_key(purpose)).encrypt(nonce, plaintext, purpose.encode())


def decrypt(purpose: str, sealed: bytes) -> bytes:
    try:
        return AESGCM(_key(purpose)).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], purpose.encode())
    except Exception as exc:  # InvalidTag or a truncated value
        raise DecryptionError(str(exc) or "decryption failed") from exc


def keyed_hash(purpose: str, value: str) -> str:
    return hmac.new(_key(purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()
