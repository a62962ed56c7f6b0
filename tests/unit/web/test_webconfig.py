"""--web.config.file: real TLS (certificates made here with trustme), basic auth, headers,
and a one-line error for every broken config."""

from __future__ import annotations

import asyncio
import base64
import gzip
import ssl
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, NamedTuple

import bcrypt
import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from convoso_exporter.web.board import View
from convoso_exporter.web.routes import ExporterServer
from convoso_exporter.web.webconfig import WebConfig, WebConfigError, load_web_config
from tests.tls_certs import Certs, client_context, make_certs

PASSWORD = b"correct horse"
# As htpasswd -nBC 10 writes it: the $2y$ prefix.
HASH_2Y = "$2y$" + bcrypt.hashpw(PASSWORD, bcrypt.gensalt(10)).decode()[4:]


class Exposition(NamedTuple):
    body: bytes
    gzip_body: bytes
    series: int


class Backend:
    version = "test"

    def exposition(self) -> Exposition:
        return Exposition(b"convoso_up 1\n", gzip.compress(b"convoso_up 1\n"), 1)

    def ready(self) -> bool:
        return True

    def stuck(self) -> str | None:
        return None

    def view(self) -> View:
        return View(states={})

    async def reload(self) -> str:
        return "reloaded"


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certs:
    folder = tmp_path_factory.mktemp("certs")
    certs = make_certs(folder)
    server_ca, server = certs.server_ca, certs.server
    # Another key, to pair with server.crt by mistake; and an encrypted one.
    other = server_ca.issue_cert("other.example")
    other.private_key_pem.write_to_path(folder / "other.key")
    key = serialization.load_pem_private_key(server.private_key_pem.bytes(), password=None)
    (folder / "encrypted.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return certs


def write_config(folder: Path, text: str) -> str:
    path = folder / "web.yml"
    path.write_text(text)
    return str(path)


def basic(user: str, password: bytes) -> dict[str, str]:
    token = base64.b64encode(user.encode() + b":" + password).decode()
    return {"Authorization": f"Basic {token}"}


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


@asynccontextmanager
async def serving(config: WebConfig) -> AsyncIterator[str]:
    server = ExporterServer(Backend(), web_config=config)
    await server.start("127.0.0.1", 0)
    try:
        scheme = "https" if config.ssl_context else "http"
        yield f"{scheme}://127.0.0.1:{server.port}"
    finally:
        await server.close()


TLS = """
tls_server_config:
  cert_file: server.crt
  key_file: server.key
"""


def test_tls_and_basic_auth_on_every_endpoint(certs):
    path = write_config(certs.folder, TLS + f"basic_auth_users:\n  prometheus: '{HASH_2Y}'\n")
    config = load_web_config(path)

    async def scenario():
        async with serving(config) as url:
            async with httpx.AsyncClient(base_url=url, verify=client_context(certs)) as client:
                return {
                    "none": await client.get("/metrics"),
                    "wrong": await client.get("/metrics", headers=basic("prometheus", b"wrong")),
                    "unknown": await client.get("/metrics", headers=basic("nobody", PASSWORD)),
                    "garbage": await client.get("/metrics", headers={"Authorization": "Basic !!!"}),
                    "bearer": await client.get("/metrics", headers={"Authorization": "Bearer abc"}),
                    "probe": await client.get("/no-such-path"),
                    "metrics": await client.get("/metrics", headers=basic("prometheus", PASSWORD)),
                    "landing": await client.get("/", headers=basic("prometheus", PASSWORD)),
                    "healthy": await client.get("/-/healthy", headers=basic("prometheus", PASSWORD)),
                    "reload": await client.post("/-/reload", headers=basic("prometheus", PASSWORD)),
                }

    answers = run(scenario())
    for name in ("none", "wrong", "unknown", "garbage", "bearer", "probe"):
        assert answers[name].status_code == 401, name
        assert answers[name].headers["www-authenticate"] == 'Basic realm="convoso-exporter"'
    assert answers["metrics"].status_code == 200 and answers["metrics"].text == "convoso_up 1\n"
    for name in ("landing", "healthy", "reload"):
        assert answers[name].status_code == 200, name


def test_plain_http_to_a_tls_port_gets_nothing(certs):
    config = load_web_config(write_config(certs.folder, TLS))

    async def scenario():
        async with serving(config) as url:
            async with httpx.AsyncClient() as client:
                with pytest.raises(httpx.TransportError):
                    await client.get(url.replace("https://", "http://") + "/metrics")

    run(scenario())


async def fetch(url: str, context: ssl.SSLContext) -> int:
    async with httpx.AsyncClient(verify=context) as client:
        return (await client.get(url + "/metrics")).status_code


def test_require_and_verify_client_cert(certs):
    text = TLS + "  client_ca_file: clients-ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
    config = load_web_config(write_config(certs.folder, text))

    async def scenario():
        async with serving(config) as url:
            assert await fetch(url, client_context(certs, certs.client)) == 200
            for refused in (client_context(certs), client_context(certs, certs.stranger)):
                with pytest.raises(httpx.TransportError):
                    await fetch(url, refused)

    run(scenario())


def test_verify_client_cert_if_given(certs):
    text = TLS + "  client_ca_file: clients-ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n"
    config = load_web_config(write_config(certs.folder, text))

    async def scenario():
        async with serving(config) as url:
            assert await fetch(url, client_context(certs)) == 200
            assert await fetch(url, client_context(certs, certs.client)) == 200
            with pytest.raises(httpx.TransportError):
                await fetch(url, client_context(certs, certs.stranger))

    run(scenario())


def test_min_version_refuses_older_clients(certs):
    config = load_web_config(write_config(certs.folder, TLS + "  min_version: TLS13\n"))
    old_client = client_context(certs)
    old_client.maximum_version = ssl.TLSVersion.TLSv1_2

    async def scenario():
        async with serving(config) as url:
            assert await fetch(url, client_context(certs)) == 200
            with pytest.raises(httpx.TransportError):
                await fetch(url, old_client)

    run(scenario())


def test_cipher_suites_restrict_tls12(certs):
    text = TLS + "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"
    config = load_web_config(write_config(certs.folder, text))

    async def negotiated(port: int, ciphers: str | None) -> str:
        context = client_context(certs)
        if ciphers:
            context.set_ciphers(ciphers)
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        cipher = writer.get_extra_info("cipher")[0]
        writer.close()
        return cipher

    async def scenario():
        async with serving(config) as url:
            port = int(url.rsplit(":", 1)[1])
            assert await negotiated(port, None) == "ECDHE-ECDSA-AES256-GCM-SHA384"
            with pytest.raises((ssl.SSLError, ConnectionError)):
                await negotiated(port, "ECDHE-ECDSA-AES128-GCM-SHA256")

    run(scenario())


def test_configured_headers_on_every_response_including_401(tmp_path):
    text = f"""
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Content-Security-Policy: "default-src 'self'"
basic_auth_users:
  prometheus: '{HASH_2Y}'
"""
    config = load_web_config(write_config(tmp_path, text))
    assert config.ssl_context is None

    async def scenario():
        async with serving(config) as url:
            async with httpx.AsyncClient(base_url=url) as client:
                auth = basic("prometheus", PASSWORD)
                return [await client.get("/metrics"), await client.get("/metrics", headers=auth), await client.get("/x", headers=auth)]

    responses = run(scenario())
    assert [r.status_code for r in responses] == [401, 200, 404]
    for response in responses:
        assert response.headers["x-frame-options"] == "deny"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'self'"


@pytest.mark.parametrize("text", ["", "# nothing here\n", "tls_server_config:\nbasic_auth_users:\n"])
def test_empty_config_means_no_tls_and_no_auth(tmp_path, text):
    config = load_web_config(write_config(tmp_path, text))
    assert config.ssl_context is None and config.users == {} and config.headers == []

    async def scenario():
        async with serving(config) as url:
            async with httpx.AsyncClient() as client:
                return await client.get(url + "/metrics")

    assert run(scenario()).status_code == 200


BAD_HASH = "$2y$10$thisisnotarealhashbutlooksalittlelikeone"
NON_CANONICAL_SALT = "$2b$04$HEgOuGvClhupJj44Q/EvzznTY.UzfGPqlpsM1UjBITqwYwpsK8JoS"  # salt ends in 'z'

# (config text, the line the message names, what it says after `web config <path>:<line>: `)
BROKEN = [
    ("foo: 1\n", 1, "foo: unknown key; expected one of: tls_server_config, http_server_config, basic_auth_users"),
    ("~: 1\n", 1, "null: unknown key; expected one of: "),
    ("http_server_config:\n  true: 1\n", 2, "http_server_config.a boolean (true): unknown key; expected one of: "),
    ("rate_limit: {burst: 1}\n", 1, "rate_limit: not supported"),
    ("- a list\n", 1, "(top level): expected a mapping of settings, got a list"),
    ("tls_server_config: [\n", 1, "tls_server_config: invalid YAML: the '[' opened here is never closed"),
    ("basic_auth_users:\n\talice: x\n", 2, "basic_auth_users: invalid YAML: a tab is used for indentation"),
    ("http_server_config:\n  headers: {X-Frame-Options: deny}\nbasic_auth_users: {}\nhttp_server_config:\n  http2: true\n",
     4, "http_server_config: duplicate key (first at line 1)"),
    (f"basic_auth_users:\n  alice: '{HASH_2Y}'\n  alice: '{BAD_HASH}'\n", 3, "basic_auth_users.alice: duplicate key (first at line 2)"),
    ("tls_server_config: yes\n", 1, "tls_server_config: expected a mapping"),
    ("tls_server_config:\n  cert_fil: server.crt\n", 2, "tls_server_config.cert_fil: unknown key; did you mean 'cert_file'? expected one of: "),
    (TLS + "  bogus: 1\n", 5, "tls_server_config.bogus: unknown key"),
    (TLS + "  curve_preferences: [X25519]\n", 5, "tls_server_config.curve_preferences: not supported"),
    ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", 2, "tls_server_config.cert_file: cannot read"),
    ("tls_server_config:\n  cert_file: server.crt\n", 1, "tls_server_config.key_file: required"),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: nope.key\n", 3, "tls_server_config.key_file: cannot read"),
    ("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n", 2, "tls_server_config.cert_file: "),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n", 3, "tls_server_config.key_file: "),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n", 3, "tls_server_config.key_file: "),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: encrypted.key\n", 3, "tls_server_config.key_file: encrypted"),
    (TLS + "  client_auth_type: Sometimes\n", 5, "tls_server_config.client_auth_type: 'Sometimes' is not one of"),
    (TLS + "  client_auth_type: RequireAnyClientCert\n", 5, "tls_server_config.client_auth_type: RequireAnyClientCert"),
    (TLS + "  client_auth_type: RequireAndVerifyClientCert\n", 2, "tls_server_config.client_ca_file: required"),
    (TLS + "  client_ca_file: clients-ca.crt\n", 2, "tls_server_config.client_auth_type: client_ca_file is set"),
    (TLS + "  client_ca_file: server.key\n  client_auth_type: VerifyClientCertIfGiven\n", 5, "tls_server_config.client_ca_file: "),
    (TLS + "  min_version: TLS14\n", 5, "tls_server_config.min_version: 'TLS14' is not one of"),
    (TLS + "  max_version: SSL3\n", 5, "tls_server_config.max_version: 'SSL3' is not one of"),
    (TLS + "  min_version: TLS13\n  max_version: TLS12\n", 5, "tls_server_config.min_version: is above max_version"),
    (TLS + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", 5, "tls_server_config.cipher_suites: unknown or insecure"),
    (TLS + "  prefer_server_cipher_suites: maybe\n", 5, "tls_server_config.prefer_server_cipher_suites: expected"),
    ("http_server_config:\n  bogus: 1\n", 2, "http_server_config.bogus: unknown key"),
    ("http_server_config:\n  http2: sometimes\n", 2, "http_server_config.http2: expected true or false"),
    ("http_server_config:\n  headers: [a]\n", 2, "http_server_config.headers: expected a mapping"),
    ("http_server_config:\n  headers:\n    Content-Length: '0'\n", 3, "http_server_config.headers.Content-Length: this header"),
    ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", 3, "http_server_config.headers.X-Frame-Options: 'allow'"),
    ('http_server_config:\n  headers:\n    Content-Security-Policy: "a\\r\\nSet-Cookie: x"\n', 3, "http_server_config.headers.Content-Security-Policy: expected a single line"),
    (f"basic_auth_users:\n  alice: '{BAD_HASH}'\n", 2, "basic_auth_users.alice: not a bcrypt hash"),
    (f"basic_auth_users:\n  bob: '{NON_CANONICAL_SALT}'\n", 2, "basic_auth_users.bob: not a bcrypt hash"),
    ("basic_auth_users:\n  carol: plaintext-password\n", 2, "basic_auth_users.carol: not a bcrypt hash"),
    (f"basic_auth_users:\n  'a:b': '{HASH_2Y}'\n", 1, "basic_auth_users: user name 'a:b'"),
    ("basic_auth_users: [alice]\n", 1, "basic_auth_users: expected a mapping"),
]


@pytest.mark.parametrize("text, line, expected", BROKEN, ids=[expected for _, _, expected in BROKEN])
def test_broken_config_is_one_line_naming_the_line_and_key(certs, text, line, expected):
    path = write_config(certs.folder, text)
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"web config {path}:{line}: {expected}")
    for secret in ("plaintext-password", BAD_HASH, NON_CANONICAL_SALT, HASH_2Y):
        assert secret not in message  # a hash (or a mistaken password) is never echoed


def test_not_utf8_is_one_line_naming_the_line(tmp_path):
    path = tmp_path / "web.yml"
    path.write_bytes(b"http_server_config:\n  headers:\n    X-Frame-Options: d\xe9ny\n")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(str(path))
    assert str(caught.value) == (
        f"web config {path}:3: http_server_config.headers.X-Frame-Options: "
        "not UTF-8 text (byte 0xe9 at column 23); save the file as UTF-8"
    )


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "web.yml"
    path.write_bytes(b"\xef\xbb\xbfhttp_server_config:\n  headers: {X-Frame-Options: deny}\n")
    assert load_web_config(str(path)).headers == [("X-Frame-Options", "deny")]


def test_missing_file_is_one_line(tmp_path):
    path = str(tmp_path / "absent.yml")
    with pytest.raises(WebConfigError, match=r"^web config .*absent\.yml: cannot read: No such file or directory$"):
        load_web_config(path)


def test_relative_paths_resolve_against_the_config_folder(certs, tmp_path, monkeypatch):
    nested = tmp_path / "etc"
    nested.mkdir()
    path = write_config(nested, f"tls_server_config:\n  cert_file: {certs.folder}/server.crt\n  key_file: ../k/server.key\n")
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "server.key").write_bytes((certs.folder / "server.key").read_bytes())
    monkeypatch.chdir(certs.folder.parent)  # somewhere the relative path does not exist
    assert load_web_config(path).ssl_context is not None


def test_2y_hashes_are_stored_in_the_2b_form(tmp_path):
    config = load_web_config(write_config(tmp_path, f"basic_auth_users:\n  alice: '{HASH_2Y}'\n"))
    assert config.users["alice"] == ("$2b$" + HASH_2Y[4:]).encode()
