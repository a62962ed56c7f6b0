"""Issue 7, the exporter's own endpoints end to end: an exporter process started with
`--web.config.file` (TLS with certificates made here by trustme, bcrypt basic auth as
`htpasswd -nBC 10` writes it, client certificates), real requests over loopback.
Also the abuse tests/test_server.py runs in-process, once over the real TLS listener:
unknown paths, wrong methods, oversized headers, a stalled client, 50 scrapers at once.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager

import bcrypt
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port, process
from tests.tls_certs import Certs, client_context, make_certs

PASSWORD = b"s3cond horse battery"
# htpasswd -nBC 10 writes the $2y$ prefix; bcrypt makes $2b$, the same hash otherwise.
HASH_2Y = "$2y$" + bcrypt.hashpw(PASSWORD, bcrypt.gensalt(10)).decode()[4:]
USER = "prometheus"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"))


def basic(password: bytes = PASSWORD, user: str = USER) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user.encode() + b":" + password).decode()}


@contextmanager
def tls_exporter(certs: Certs, web_config: str, context: ssl.SSLContext, headers: dict[str, str]) -> Iterator[str]:
    """The demo exporter (its simulator in-process) behind `web_config`; yields its https URL
    once /-/ready answers 200 to a client with `context` and `headers`."""
    path = certs.folder / f"web-{time.monotonic_ns()}.yml"
    path.write_text(web_config)
    port = free_port()
    with process(["--web.listen-address", f"127.0.0.1:{port}", "--web.config.file", str(path)]) as proc:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"the exporter exited: {proc.output()}"
            try:
                if httpx.get(url + "/-/ready", verify=context, headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{url} never became ready: {proc.output()}"
            time.sleep(0.1)
        yield url


TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"


@pytest.fixture(scope="module")
def secured(certs) -> Iterator[str]:
    """TLS and basic auth."""
    with tls_exporter(certs, TLS + f"basic_auth_users:\n  {USER}: '{HASH_2Y}'\n", client_context(certs), basic()) as url:
        yield url


def test_basic_auth_over_tls_on_every_endpoint(certs, secured):
    with httpx.Client(base_url=secured, verify=client_context(certs), timeout=10) as client:
        for headers in ({}, basic(b"wrong password"), basic(user="nobody")):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Basic ")
            assert "convoso_up" not in refused.text
        metrics = client.get("/metrics", headers=basic())
        assert metrics.status_code == 200
        families = {family.name for family in text_string_to_metric_families(metrics.text)}
        assert {"convoso_up", "convoso_agent_count"} <= families
        for path in ("/", "/-/healthy", "/-/ready"):
            assert client.get(path, headers=basic()).status_code == 200, path
            assert client.get(path).status_code == 401, path
        assert client.post("/-/reload", headers=basic()).status_code == 200
        assert client.post("/-/reload").status_code == 401


def test_plain_http_to_the_tls_port_gets_no_metrics(secured):
    with pytest.raises(httpx.TransportError):
        httpx.get(secured.replace("https://", "http://") + "/metrics", headers=basic(), timeout=5)


def test_a_client_certificate_is_required_when_configured(certs):
    web_config = TLS + "  client_ca_file: clients-ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
    with tls_exporter(certs, web_config, client_context(certs, certs.client), {}) as url:
        assert httpx.get(url + "/metrics", verify=client_context(certs, certs.client), timeout=10).status_code == 200
        for refused in (client_context(certs), client_context(certs, certs.stranger)):
            with pytest.raises(httpx.TransportError):
                httpx.get(url + "/metrics", verify=refused, timeout=10)


# --- abuse over the real TLS listener ------------------------------------------------------


def test_unknown_paths_and_wrong_methods(certs, secured):
    with httpx.Client(base_url=secured, verify=client_context(certs), headers=basic(), timeout=10) as client:
        assert client.get("/nope").status_code == 404
        wrong = client.post("/metrics")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"
        assert client.get("/-/reload").status_code == 405


async def tls_connection(url: str, certs: Certs) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(url.rsplit(":", 1)[1])
    return await asyncio.open_connection("127.0.0.1", port, ssl=client_context(certs), server_hostname="127.0.0.1")


def test_oversized_headers_a_stalled_client_and_fifty_scrapers(certs, secured):
    async def scenario():
        # A client that completes the handshake, sends half a request line and stalls.
        stalled_reader, stalled = await tls_connection(secured, certs)
        stalled.write(b"GET /met")
        await stalled.drain()
        # A request whose headers are over the 16 KiB limit.
        reader, writer = await tls_connection(secured, certs)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (17 * 1024) + b"\r\n\r\n")
        await writer.drain()
        oversized = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
        # Fifty scrapers at once, each on its own connection, while the stalled one waits.
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(verify=client_context(certs), limits=limits, headers=basic(), timeout=20) as many:
            answers = await asyncio.gather(*(many.get(secured + "/metrics") for _ in range(50)))
        try:  # neither answered nor closed: the server is still waiting for the rest
            await asyncio.wait_for(stalled_reader.read(1), timeout=0.3)
            stalled_open = False
        except TimeoutError:
            stalled_open = True
        stalled.close()
        return oversized, answers, stalled_open

    oversized, answers, stalled_open = asyncio.run(asyncio.wait_for(scenario(), timeout=45))
    assert oversized.startswith(b"HTTP/1.1 431 ")
    assert [answer.status_code for answer in answers] == [200] * 50
    for answer in answers:
        assert "convoso_up" in {family.name for family in text_string_to_metric_families(answer.text)}
    assert stalled_open  # still waiting for its request, and it held nobody up
