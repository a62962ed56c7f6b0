"""`--web.config.file`: TLS and basic auth for the exporter's own endpoints.

The file uses the Prometheus exporter-toolkit format, so a web config written for any
Go exporter works here too:

```yaml
tls_server_config:
  cert_file: server.crt          # relative paths resolve against this file's folder
  key_file: server.key
  client_ca_file: clients-ca.crt
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS12             # TLS10 | TLS11 | TLS12 (default) | TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]   # Go names; TLS 1.2 and below
http_server_config:
  headers: {X-Content-Type-Options: nosniff}
basic_auth_users:
  prometheus: $2y$10$...         # htpasswd -nBC 10 prometheus
```

An empty file means no TLS and no authentication, as in exporter-toolkit. The file is
read by the same strict loader as the config (duplicate keys refused, syntax errors in
plain words), and every mistake is a `WebConfigError` whose one line names the file, the
line and the key: `web config web.yml:4: http_server_config: duplicate key (first at line 2)`.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass, field
from typing import Any, NoReturn

from convoso_exporter.config.load import (
    Document,
    KeyPath,
    PathError,
    ReadError,
    YamlError,
    check_keys,
    format_path,
    key_element,
    load_file,
)
from convoso_exporter.web.basic_auth import BasicAuth

TOP_LEVEL_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_ca_file",
    "client_auth_type",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
)
HTTP_KEYS = ("headers", "http2")

# exporter-toolkit keys this exporter does not implement: refused with a reason rather
# than silently ignored, because each of them would loosen or change security.
UNSUPPORTED_KEYS = {
    "rate_limit": "not supported by convoso-exporter",
    "tls_server_config.cert": "inline certificates are not supported; use cert_file",
    "tls_server_config.key": "inline keys are not supported; use key_file",
    "tls_server_config.client_ca": "inline CAs are not supported; use client_ca_file",
    "tls_server_config.curve_preferences": "not supported by convoso-exporter (OpenSSL's defaults are used)",
    "tls_server_config.client_allowed_sans": "not supported by convoso-exporter",
}

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

# client_auth_type → (verify mode, needs client_ca_file). Python's ssl module always
# verifies a certificate it asks for, so the two Go modes that accept unverified
# certificates are mapped as follows: RequestClientCert asks for nothing (an unverified,
# unused certificate grants nothing), and RequireAnyClientCert is refused below.
CLIENT_AUTH_TYPES = {
    "NoClientCert": (ssl.CERT_NONE, False),
    "RequestClientCert": (ssl.CERT_NONE, False),
    "VerifyClientCertIfGiven": (ssl.CERT_OPTIONAL, True),
    "RequireAndVerifyClientCert": (ssl.CERT_REQUIRED, True),
}
REFUSED_CLIENT_AUTH = {
    "RequireAnyClientCert": "RequireAnyClientCert (a certificate required but not verified) is not supported; "
    "use RequireAndVerifyClientCert with client_ca_file",
}

# Go's names for the TLS 1.0-1.2 suites it offers (crypto/tls CipherSuites()) → OpenSSL's.
# As in Go, cipher_suites does not affect TLS 1.3.
CIPHER_SUITES = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}

# The response headers exporter-toolkit lets a web config set, with their allowed values
# where the header is an enumeration (None: any value).
ALLOWED_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}

# Cost 04-31, then a 22-character salt whose last character carries only 2 bits (so it is
# one of ".Oeu"; the bcrypt library rejects other values), then the 31-character digest.
BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{31}")


@dataclass
class WebConfig:
    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # name → bcrypt hash ($2b$ form)
    headers: list[tuple[str, str]] = field(default_factory=list)
    _auth: BasicAuth = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._auth = BasicAuth(self.users)

    async def authorized(self, authorization_header: str | None) -> bool:
        """True when no users are configured, or the header carries a valid user:password."""
        return await self._auth.authorized(authorization_header)


class WebConfigError(Exception):
    """One line: `web config /path:3: tls_server_config.cert_file: what is wrong`."""


def load_web_config(path: str) -> WebConfig:
    """Read and validate a web config file; raises WebConfigError."""
    try:
        document = load_file(path)
        return document.build(_Loader(os.path.dirname(os.path.abspath(path))).load)
    except ReadError as exc:
        raise WebConfigError(f"web config {path}: cannot read: {exc}") from None
    except YamlError as exc:
        raise WebConfigError(f"web config {exc}") from None


TLS: KeyPath = ("tls_server_config",)
HTTP: KeyPath = ("http_server_config",)
USERS: KeyPath = ("basic_auth_users",)


def _fail(path: KeyPath, message: str) -> NoReturn:
    raise PathError(path, message)


class _Loader:
    """Checks a loaded web config; each problem is a `PathError` at its key path."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def load(self, document: Document) -> WebConfig:
        data = document.data
        if data is None:
            data = {}
        if not isinstance(data, dict):
            _fail((), f"expected a mapping of settings, got {_type_name(data)}")
        self.check_keys((), data, TOP_LEVEL_KEYS)
        return WebConfig(
            ssl_context=self.tls(self.section(data, TLS)),
            users=self.users(data.get("basic_auth_users")),
            headers=self.headers(self.section(data, HTTP)),
        )

    def section(self, data: dict[str, Any], path: KeyPath) -> dict[str, Any]:
        value = data.get(path[-1])
        if value is None:
            return {}
        if not isinstance(value, dict):
            _fail(path, f"expected a mapping, got {_type_name(value)}")
        return value

    def check_keys(self, path: KeyPath, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for key in data:
            reason = UNSUPPORTED_KEYS.get(format_path((*path, key_element(key))))
            if reason:
                _fail((*path, key), reason)
        check_keys(data, path, allowed)

    # --- tls_server_config ----------------------------------------------------------

    def tls(self, tls: dict[str, Any]) -> ssl.SSLContext | None:
        self.check_keys(TLS, tls, TLS_KEYS)
        if not any(tls.get(key) for key in ("cert_file", "key_file", "client_ca_file", "client_auth_type")):
            return None  # as exporter-toolkit: nothing that enables TLS means plain HTTP
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.load_certificate(context, tls)
        self.set_versions(context, tls)
        self.set_ciphers(context, tls.get("cipher_suites"))
        self.set_client_auth(context, tls)
        prefer = tls.get("prefer_server_cipher_suites")
        if prefer is not None and not isinstance(prefer, bool):
            _fail((*TLS, "prefer_server_cipher_suites"), "expected true or false")
        # Otherwise ignored: a no-op in Go since 1.17, and OpenSSL's server context
        # already prefers its own order.
        return context

    def load_certificate(self, context: ssl.SSLContext, tls: dict[str, Any]) -> None:
        cert = self.readable_file(tls, "cert_file", "CERTIFICATE-----")
        key = self.readable_file(tls, "key_file", "PRIVATE KEY-----")

        def no_password() -> NoReturn:
            _fail((*TLS, "key_file"), "encrypted private keys are not supported")

        try:
            context.load_cert_chain(cert, key, password=no_password)
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                _fail((*TLS, "key_file"), f"{key} does not match the certificate in cert_file")
            _fail((*TLS, "cert_file"), f"cannot load certificate and key: {exc.reason or exc}")

    def readable_file(self, tls: dict[str, Any], key: str, pem_marker: str) -> str:
        """The resolved path of a PEM file setting, after checking it can be read."""
        where = (*TLS, key)
        value = tls.get(key)
        if not value:
            _fail(where, "required when TLS is configured")
        if not isinstance(value, str):
            _fail(where, f"expected a file path, got {_type_name(value)}")
        path = os.path.join(self.folder, value)
        try:
            with open(path, encoding="ascii", errors="replace") as file:
                text = file.read()
        except OSError as exc:
            _fail(where, f"cannot read {path}: {exc.strerror or exc}")
        if pem_marker not in text:
            _fail(where, f"{path} has no PEM block ending in {pem_marker!r}")
        return path

    def set_versions(self, context: ssl.SSLContext, tls: dict[str, Any]) -> None:
        low = self.tls_version(tls, "min_version", "TLS12")
        high = self.tls_version(tls, "max_version", "TLS13")
        if low > high:
            _fail((*TLS, "min_version"), "is above max_version")
        context.minimum_version = low
        context.maximum_version = high

    def tls_version(self, tls: dict[str, Any], key: str, default: str) -> ssl.TLSVersion:
        value = tls.get(key) or default
        if value not in TLS_VERSIONS:
            _fail((*TLS, key), f"{value!r} is not one of {', '.join(TLS_VERSIONS)}")
        return TLS_VERSIONS[value]

    def set_ciphers(self, context: ssl.SSLContext, suites: Any) -> None:
        if suites is None:
            return
        where = (*TLS, "cipher_suites")
        if not isinstance(suites, list) or not suites:
            _fail(where, "expected a non-empty list of cipher suite names")
        for suite in suites:
            if suite not in CIPHER_SUITES:
                _fail(where, f"unknown or insecure cipher suite {suite!r}")
        try:
            context.set_ciphers(":".join(CIPHER_SUITES[suite] for suite in suites))
        except ssl.SSLError:
            _fail(where, "none of these suites is available in this OpenSSL build")

    def set_client_auth(self, context: ssl.SSLContext, tls: dict[str, Any]) -> None:
        where, ca_where = (*TLS, "client_auth_type"), (*TLS, "client_ca_file")
        auth_type = tls.get("client_auth_type") or "NoClientCert"
        if auth_type in REFUSED_CLIENT_AUTH:
            _fail(where, REFUSED_CLIENT_AUTH[auth_type])
        if auth_type not in CLIENT_AUTH_TYPES:
            expected = ", ".join([*CLIENT_AUTH_TYPES, *REFUSED_CLIENT_AUTH])
            _fail(where, f"{auth_type!r} is not one of {expected}")
        mode, needs_ca = CLIENT_AUTH_TYPES[auth_type]
        has_ca = bool(tls.get("client_ca_file"))
        if needs_ca and not has_ca:
            _fail(ca_where, f"required with client_auth_type {auth_type}")
        if has_ca and auth_type == "NoClientCert":
            _fail(where, "client_ca_file is set but client_auth_type does not ask for client certificates")
        if has_ca and needs_ca:
            path = self.readable_file(tls, "client_ca_file", "CERTIFICATE-----")
            try:
                context.load_verify_locations(cafile=path)
            except ssl.SSLError as exc:
                _fail(ca_where, f"cannot load {path}: {exc.reason or exc}")
        context.verify_mode = mode

    # --- http_server_config ---------------------------------------------------------

    def headers(self, http: dict[str, Any]) -> list[tuple[str, str]]:
        self.check_keys(HTTP, http, HTTP_KEYS)
        if "http2" in http and not isinstance(http["http2"], bool):
            _fail((*HTTP, "http2"), "expected true or false")
        # http2 is otherwise ignored: this server speaks HTTP/1.1 only.
        headers = http.get("headers") or {}
        if not isinstance(headers, dict):
            _fail((*HTTP, "headers"), f"expected a mapping, got {_type_name(headers)}")
        return [self.header(name, value) for name, value in headers.items()]

    def header(self, name: Any, value: Any) -> tuple[str, str]:
        where = (*HTTP, "headers", key_element(name))
        if name not in ALLOWED_HEADERS:
            _fail(where, f"this header cannot be configured (allowed: {', '.join(ALLOWED_HEADERS)})")
        if not isinstance(value, str) or not value.isprintable() or not value.isascii():
            _fail(where, "expected a single line of printable ASCII")
        allowed = ALLOWED_HEADERS[name]
        if allowed is not None and value not in allowed:
            _fail(where, f"{value!r} is not one of {', '.join(allowed)}")
        return name, value

    # --- basic_auth_users -----------------------------------------------------------

    def users(self, users: Any) -> dict[str, bytes]:
        if users is None:
            return {}
        if not isinstance(users, dict):
            _fail(USERS, f"expected a mapping of user: bcrypt hash, got {_type_name(users)}")
        return {self.user_name(name): self.user_hash(name, hashed) for name, hashed in users.items()}

    def user_name(self, name: Any) -> str:
        if not isinstance(name, str) or not name or ":" in name:
            _fail(USERS, f"user name {name!r} must be a non-empty string without ':'")
        return name

    def user_hash(self, name: str, hashed: Any) -> bytes:
        # The message names the user, never the hash: a hash is still a secret to guard.
        if not isinstance(hashed, str) or not BCRYPT_HASH.fullmatch(hashed):
            _fail((*USERS, name), "not a bcrypt hash ($2y$/$2b$/$2a$, as made by htpasswd -nBC 10)")
        # The bcrypt library speaks $2b$; $2y$ (PHP's/htpasswd's name) is the same algorithm.
        if hashed.startswith("$2y$"):
            hashed = "$2b$" + hashed[4:]
        return hashed.encode("ascii")


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)
