"""The `logout` admin command: POST /agent-monitor/logout for one agent.

Turns every outcome into one line for a human and an exit code:
0 logged out, 1 the API refused (unknown agent, not logged in, auth), 2 usage.
"""

from __future__ import annotations

import sys
from typing import Mapping

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import ApiError, AuthError, ConvosoError
from convoso_exporter.config.schema import TOKEN_ENV, ConfigError, ConvosoSettings, environment_token, load_config

DEFAULT_BASE_URL = ConvosoSettings().base_url

# What the documented codes mean for this command, in words an operator can act on.
CODE_MESSAGES = {
    6006: "no such agent: user_id {user_id} is missing or invalid (Convoso code 6006)",
    6012: "agent {user_id} is not logged in (Convoso code 6012)",
}


def settings_for_logout(config_file: str | None, environ: Mapping[str, str]) -> ConvosoSettings:
    """The config file's convoso section, or the environment when there is no file."""
    if config_file:
        return load_config(config_file, environ).convoso
    token = environment_token(environ)
    if not token:
        raise ConfigError(f"no auth token: pass --config.file or set {TOKEN_ENV}")
    return ConvosoSettings(base_url=environ.get("CONVOSO_BASE_URL", DEFAULT_BASE_URL), auth_token=token)


async def logout_agent(settings: ConvosoSettings, user_id: str) -> int:
    async with ConvosoClient.from_settings(settings, concurrency=1) as client:
        try:
            await client.logout(user_id)
        except ApiError as exc:
            template = CODE_MESSAGES.get(exc.code, "the API refused: {error}")
            return _fail(template.format(user_id=user_id, error=exc))
        except AuthError as exc:
            return _fail(f"authentication failed, check the token: {exc}")
        except ConvosoError as exc:
            return _fail(f"logout failed ({exc.kind}): {exc}")
    print(f"agent {user_id} logged out")
    return 0


def _fail(message: str) -> int:
    print(f"convoso-exporter logout: {message}", file=sys.stderr)
    return 1
