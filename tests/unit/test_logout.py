"""convoso_exporter.logout: every outcome of the `logout` command is one line and an exit
code, checked against the in-process simulator over loopback; and where its settings
come from."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.config.schema import ConfigError, ConvosoSettings
from convoso_exporter.logout import DEFAULT_BASE_URL, logout_agent, settings_for_logout
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator
from convoso_exporter.web.http import HttpServer, Request, Response
from tests.support import free_port

# Characters that URL encoding changes, so every form of the token is looked for.
TOKEN = "logout T0KEN/+=%s3cret"
TOKEN_FORMS = ("logout T0KEN/+=%s3cret", "logout%20T0KEN%2F%2B%3D%25s3cret", "logout+T0KEN%2F%2B%3D%25s3cret", "s3cret")
PREFIX = "convoso-exporter logout: "


@asynccontextmanager
async def simulator() -> AsyncIterator[Simulator]:
    center = ContactCenter(agents=10, seed=5, clock=FakeClock(0.0), start_wall=1795514400.0)
    sim = Simulator(center, token=TOKEN)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.close()


def settings(base_url: str, token: str = TOKEN) -> ConvosoSettings:
    return ConvosoSettings(base_url=base_url, auth_token=token, timeout=5.0)


async def logged_in_agent(sim: Simulator) -> str:
    async with ConvosoClient(sim.base_url, TOKEN) as client:
        result = await client.search()
    return next(agent.user_id for agent in result.agents if agent.status != "LOGGED_OUT")


def outcome(capsys: pytest.CaptureFixture[str], code: int) -> tuple[int, str, str]:
    """(exit code, stdout, stderr), after checking that exactly one line was printed
    and that no form of the token is in it."""
    out, err = capsys.readouterr()
    assert len((out + err).splitlines()) == 1, (out, err)
    for form in TOKEN_FORMS:
        assert form not in out + err
    return code, out, err


def test_success_prints_one_line_and_exits_0(capsys):
    async def scenario():
        async with simulator() as sim:
            user = await logged_in_agent(sim)
            return user, await logout_agent(settings(sim.base_url), user)

    user, code = asyncio.run(scenario())
    assert outcome(capsys, code) == (0, f"agent {user} logged out\n", "")


def test_an_agent_already_logged_out_is_6012(capsys):
    async def scenario():
        async with simulator() as sim:
            user = await logged_in_agent(sim)
            first = await logout_agent(settings(sim.base_url), user)
            capsys.readouterr()
            return user, first, await logout_agent(settings(sim.base_url), user)

    user, first, code = asyncio.run(scenario())
    assert first == 0
    assert outcome(capsys, code) == (1, "", f"{PREFIX}agent {user} is not logged in (Convoso code 6012)\n")


@pytest.mark.parametrize("user", ["999999", ""])
def test_an_unknown_or_empty_user_id_is_6006(capsys, user):
    async def scenario():
        async with simulator() as sim:
            return await logout_agent(settings(sim.base_url), user)

    code = asyncio.run(scenario())
    expected = f"{PREFIX}no such agent: user_id {user} is missing or invalid (Convoso code 6006)\n"
    assert outcome(capsys, code) == (1, "", expected)


def test_a_wrong_token_is_an_authentication_failure_that_does_not_show_it(capsys):
    wrong = "wr0ng T0KEN/+="

    async def scenario():
        async with simulator() as sim:
            return await logout_agent(settings(sim.base_url, wrong), "100001")

    code, out, err = outcome(capsys, asyncio.run(scenario()))
    assert (code, out) == (1, "")
    assert err.startswith(f"{PREFIX}authentication failed, check the token: logout: HTTP 200: ")
    for form in ("wr0ng", "T0KEN"):
        assert form not in err


def test_an_http_401_is_an_authentication_failure(capsys):
    async def scenario():
        async with simulator() as sim:
            sim.set_fault("401")
            return await logout_agent(settings(sim.base_url), "100001")

    expected = f"{PREFIX}authentication failed, check the token: logout: HTTP 401: missing or invalid auth_token\n"
    assert outcome(capsys, asyncio.run(scenario())) == (1, "", expected)


@pytest.mark.parametrize(
    ("fault", "line"),
    [
        ("500", "logout failed (server): logout: HTTP 500: server error"),
        ("wrong_shape", "logout failed (protocol): logout: HTTP 200: response: expected a JSON object, got array"),
    ],
)
def test_other_failures_name_their_kind(capsys, fault, line):
    async def scenario():
        async with simulator() as sim:
            sim.set_fault(fault)
            return await logout_agent(settings(sim.base_url), "100001")

    assert outcome(capsys, asyncio.run(scenario())) == (1, "", f"{PREFIX}{line}\n")


def test_nothing_listening_is_a_connection_failure_naming_host_and_port(capsys):
    port = free_port()
    code, out, err = outcome(capsys, asyncio.run(logout_agent(settings(f"http://127.0.0.1:{port}/v1"), "100001")))
    assert (code, out) == (1, "")
    assert err == (f"{PREFIX}logout failed (connection): logout: connection refused by 127.0.0.1:{port}; "
                   "is the API up and is base_url right?\n")


def test_an_unresolvable_host_is_named(capsys):
    code, out, err = outcome(capsys, asyncio.run(logout_agent(settings("https://api.convoso.invalid/v1"), "100001")))
    assert (code, out) == (1, "")
    assert err.startswith(f"{PREFIX}logout failed (connection): logout: cannot resolve host api.convoso.invalid (DNS: ")


def test_another_convoso_code_is_reported_as_a_refusal(capsys):
    # The simulator only answers 6006 and 6012 for logout; a stub stands in for the rest.
    async def refuse(request: Request) -> Response:
        body = {"success": False, "code": 6099, "error": "Agent is on a call"}
        return Response(body=json.dumps(body).encode(), content_type="application/json")

    async def scenario():
        server = HttpServer(refuse)
        await server.start("127.0.0.1", 0)
        try:
            return await logout_agent(settings(f"http://127.0.0.1:{server.port}/v1"), "100001")
        finally:
            await server.close()

    code, out, err = outcome(capsys, asyncio.run(scenario()))
    assert (code, out) == (1, "")
    assert err.startswith(f"{PREFIX}the API refused: logout: HTTP 200: ")
    assert "Agent is on a call" in err


# --- where the settings come from ----------------------------------------------------------


ENV_TOKEN = "logout-T0KEN/+=%s3cret"  # the environment's token is one word, as in the config


def test_without_a_config_file_the_environment_gives_token_and_base_url():
    environ = {"CONVOSO_AUTH_TOKEN": ENV_TOKEN, "CONVOSO_BASE_URL": "http://127.0.0.1:1/v1"}
    assert settings_for_logout(None, environ) == ConvosoSettings(base_url="http://127.0.0.1:1/v1", auth_token=ENV_TOKEN)
    only_token = settings_for_logout(None, {"CONVOSO_AUTH_TOKEN": ENV_TOKEN})
    assert only_token.base_url == DEFAULT_BASE_URL == "https://api.convoso.com/v1"


def test_the_environment_token_is_cleaned_and_checked_as_the_config_does():
    bom = settings_for_logout(None, {"CONVOSO_AUTH_TOKEN": f"\ufeff{ENV_TOKEN}\r\n"})
    assert bom.auth_token == ENV_TOKEN
    with pytest.raises(ConfigError) as caught:
        settings_for_logout(None, {"CONVOSO_AUTH_TOKEN": TOKEN})  # a space inside
    assert str(caught.value) == ("CONVOSO_AUTH_TOKEN: the token contains whitespace or control characters; "
                                 "expected the token alone")


@pytest.mark.parametrize("environ", [{}, {"CONVOSO_AUTH_TOKEN": ""}])
def test_no_token_anywhere_is_a_config_error(environ):
    with pytest.raises(ConfigError) as caught:
        settings_for_logout(None, environ)
    assert str(caught.value) == "no auth token: pass --config.file or set CONVOSO_AUTH_TOKEN"


def test_a_config_file_gives_its_convoso_section(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("convoso:\n  base_url: http://127.0.0.1:1/v1\n  auth_token: file-token\n  timeout: 3s\n"
                      "targets:\n  - name: all\n")
    found = settings_for_logout(str(config), {})
    assert (found.base_url, found.auth_token, found.timeout) == ("http://127.0.0.1:1/v1", "file-token", 3.0)
