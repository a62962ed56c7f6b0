"""Basic auth for the exporter's endpoints, as exporter-toolkit does it: bcrypt hashes
checked one at a time on their own thread, unknown users checked against a dummy hash
so timing does not reveal who exists, and a small cache of recent successes so a
scraper's every request does not cost a bcrypt round."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import bcrypt

# Checked for unknown users so a response's timing does not reveal who exists; the same
# bcrypt (cost 10) of "fakepassword" that exporter-toolkit uses.
DUMMY_HASH = b"$2b$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
# bcrypt only looks at the first 72 bytes of a password (htpasswd truncates the same way).
BCRYPT_MAX_PASSWORD = 72
AUTH_CACHE_SIZE = 64

# One thread for every bcrypt check, as exporter-toolkit serialises them with a mutex:
# a flood of bad passwords costs one core, never the event loop nor the default
# executor that rendering uses.
_bcrypt_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bcrypt")


@dataclass
class BasicAuth:
    """The web config's `basic_auth_users`: name → bcrypt hash (`$2b$` form)."""

    users: dict[str, bytes] = field(default_factory=dict)
    # (user, sha256(password)) of recent successful checks; insertion order = age.
    _granted: dict[tuple[str, bytes], None] = field(default_factory=dict, init=False, repr=False, compare=False)

    async def authorized(self, authorization_header: str | None) -> bool:
        """True when no users are configured, or the header carries a valid user:password."""
        if not self.users:
            return True
        credentials = _parse_basic(authorization_header)
        if credentials is None:
            return False
        user, password = credentials
        key = (user, hashlib.sha256(password).digest())
        if key in self._granted:
            return True
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_bcrypt_executor, self._check, key, user, password)

    def _check(self, key: tuple[str, bytes], user: str, password: bytes) -> bool:
        """Runs on the bcrypt thread, one check at a time."""
        if key in self._granted:  # a concurrent request with the same credentials got here first
            return True
        known = user in self.users
        ok = bcrypt.checkpw(password[:BCRYPT_MAX_PASSWORD], self.users.get(user, DUMMY_HASH)) and known
        if ok:
            if len(self._granted) >= AUTH_CACHE_SIZE:
                del self._granted[next(iter(self._granted))]
            self._granted[key] = None
        return ok


def _parse_basic(header: str | None) -> tuple[str, bytes] | None:
    """`Basic base64(user:password)` → (user, password); None for anything else."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
        user_bytes, sep, password = decoded.partition(b":")
        user = user_bytes.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not sep:
        return None
    return user, password
