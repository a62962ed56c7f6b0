"""The auth token: from CONVOSO_AUTH_TOKEN, `convoso.auth_token` or `convoso.auth_token_file`
(the environment wins), cleaned of what editors add around it and refused in one line when
it is not one word; never echoed in a message."""

from __future__ import annotations

import os
from collections.abc import Mapping

from convoso_exporter.config.fields import Section, fail
from convoso_exporter.config.load import KeyPath, format_path

TOKEN_ENV = "CONVOSO_AUTH_TOKEN"
MAX_TOKEN_FILE_BYTES = 64 * 1024  # a token is short; do not slurp a wrong (huge) file


# Defined here, the lowest module that raises it (schema.py imports this one), and
# re-exported by schema.py, where every other module takes it from.
class ConfigError(Exception):
    """A one-line message: `file:line: key.path: what is wrong`."""


def resolve_token(
    section: Section, base_dir: str, environ: Mapping[str, str], warnings: list[str],
) -> tuple[str, str | None]:
    """(token, resolved token file). The environment wins, then auth_token, then the file."""
    inline = section.optional_str("auth_token", secret=True)
    file_name = section.optional_str("auth_token_file")
    if inline is not None and file_name is not None:
        section.fail(None, "set either auth_token or auth_token_file, not both")
    if inline is not None:
        check_token(inline, section.at("auth_token"))
    token_file = None
    if file_name is not None:
        token_file = os.path.normpath(os.path.join(base_dir, os.path.expanduser(file_name)))
    env_token = environment_token(environ)
    if env_token:
        return env_token, token_file
    if inline is not None:
        return inline, None
    if token_file is not None:
        return read_token_file(token_file, section.at("auth_token_file"), warnings), token_file
    section.fail(None, f"no auth token: set auth_token, auth_token_file or {TOKEN_ENV}")


def environment_token(environ: Mapping[str, str]) -> str:
    """CONVOSO_AUTH_TOKEN, cleaned; "" when unset or blank. A ConfigError when it is set
    but is not a token (no line to name: it is not in a file)."""
    token = clean_token(environ.get(TOKEN_ENV, ""))
    if token and (problem := token_problem(token)):
        raise ConfigError(f"{TOKEN_ENV}: {problem}")
    return token


def read_token_file(path: str, where: KeyPath, warnings: list[str]) -> str:
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            raw = f.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as err:
        fail(where, f"cannot read token file {path}: {err.strerror or err}")
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        fail(where, f"token file {path} is larger than {MAX_TOKEN_FILE_BYTES} bytes; expected the token alone")
    try:
        token = clean_token(raw.decode("utf-8"))
    except UnicodeDecodeError:
        fail(where, f"token file {path} is not UTF-8 text; expected the token alone")
    if not token:
        fail(where, f"token file {path} is empty; expected the Convoso auth token")
    check_token(token, where, f"the token in {path}")
    # "Other users": the world bits. A group-readable file is how Kubernetes mounts
    # secrets for a pod's fsGroup, so warning on it would cry wolf on every pod.
    if mode & 0o007:
        warnings.append(
            f"{format_path(where)}: {path} is readable by other users (mode {mode & 0o777:04o}); "
            "restrict it with chmod 600"
        )
    return token


def clean_token(text: str) -> str:
    """A token as editors and shells hand it over, without what they add around it: a
    UTF-8 byte-order mark (Windows editors write one) and surrounding whitespace (a CRLF
    line end included). Anything else stays, for `token_problem` to refuse."""
    return text.strip().removeprefix("\ufeff").strip()


def check_token(token: str, where: KeyPath, subject: str = "the token") -> None:
    if problem := token_problem(token, subject):
        fail(where, problem)


def token_problem(token: str, subject: str = "the token") -> str | None:
    """A token is one word. Whitespace inside means the wrong file or a paste
    accident; say so without ever echoing the token."""
    if any(c.isspace() or not c.isprintable() for c in token):
        return f"{subject} contains whitespace or control characters; expected the token alone"
    return None
