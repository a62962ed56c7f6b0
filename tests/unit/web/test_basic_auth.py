"""convoso_exporter.web.basic_auth: bcrypt checks on their own thread, a dummy hash for
unknown users, a bounded cache of recent successes."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import bcrypt
import pytest

from convoso_exporter.web import basic_auth
from convoso_exporter.web.basic_auth import BasicAuth


def basic(user: str, password: bytes) -> dict[str, str]:
    token = base64.b64encode(user.encode() + b":" + password).decode()
    return {"Authorization": f"Basic {token}"}


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


def cheap_config(tmp_path: Path, users: dict[str, bytes]) -> BasicAuth:
    """Users with cost-4 hashes, for tests that count bcrypt calls."""
    return BasicAuth({user: bcrypt.hashpw(pw, bcrypt.gensalt(4)) for user, pw in users.items()})


@pytest.fixture
def bcrypt_calls(monkeypatch) -> list[bytes]:
    """Hashes checked by bcrypt, in order."""
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(basic_auth.bcrypt, "checkpw", counting)
    return calls


def test_successes_are_cached_failures_are_not_and_unknown_users_pay_bcrypt(tmp_path, bcrypt_calls):
    config = cheap_config(tmp_path, {"alice": b"pw"})

    async def scenario():
        return [
            await config.authorized(basic("alice", b"pw")["Authorization"]),
            await config.authorized(basic("alice", b"pw")["Authorization"]),
            await config.authorized(basic("alice", b"bad")["Authorization"]),
            await config.authorized(basic("alice", b"bad")["Authorization"]),
            await config.authorized(basic("mallory", b"pw")["Authorization"]),
        ]

    assert run(scenario()) == [True, True, False, False, False]
    assert len(bcrypt_calls) == 4  # the second success came from the cache
    assert bcrypt_calls[-1] == basic_auth.DUMMY_HASH  # the unknown user was checked against the dummy


def test_concurrent_identical_credentials_run_bcrypt_once(tmp_path, bcrypt_calls):
    config = cheap_config(tmp_path, {"alice": b"pw"})
    header = basic("alice", b"pw")["Authorization"]

    async def scenario():
        return await asyncio.gather(*(config.authorized(header) for _ in range(20)))

    assert run(scenario()) == [True] * 20
    assert len(bcrypt_calls) == 1


def test_the_cache_is_bounded(tmp_path, bcrypt_calls):
    users = {f"user{i}": b"pw" for i in range(basic_auth.AUTH_CACHE_SIZE + 1)}
    config = cheap_config(tmp_path, users)

    async def scenario():
        for user in users:
            assert await config.authorized(basic(user, b"pw")["Authorization"])
        assert await config.authorized(basic("user0", b"pw")["Authorization"])  # evicted: checked again

    run(scenario())
    assert len(bcrypt_calls) == len(users) + 1


def test_passwords_longer_than_72_bytes_behave_like_htpasswd(tmp_path):
    long_password = b"p" * 72 + b" and more"
    config = cheap_config(tmp_path, {"alice": long_password[:72]})
    assert run(config.authorized(basic("alice", long_password)["Authorization"])) is True


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic", "Basic ", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
     "Basic " + base64.b64encode(b"\xff\xfe:pw").decode(), "Digest abc", "Bearer " + base64.b64encode(b"alice:pw").decode()],
)
def test_malformed_authorization_headers_are_refused(tmp_path, header):
    config = cheap_config(tmp_path, {"alice": b"pw"})
    assert run(config.authorized(header)) is False


def test_scheme_is_case_insensitive(tmp_path):
    config = cheap_config(tmp_path, {"alice": b"pw"})
    token = base64.b64encode(b"alice:pw").decode()
    assert run(config.authorized(f"basic {token}")) is True
