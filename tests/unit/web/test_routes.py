"""The exporter's endpoints over real HTTP on loopback, with a fake backend."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest

from convoso_exporter.web.routes import accepts_gzip
from tests.unit.web.floor import FakeBackend, run, serving, view


def test_landing_page_and_its_head():
    async def scenario():
        async with serving(FakeBackend(view())) as (_, client):
            return await client.get("/"), await client.head("/")

    page, head = run(scenario())
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "1.2.3-test" in page.text and '<a href="/metrics">' in page.text and "3000 series" in page.text
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(page.content)


def test_landing_page_links_a_custom_telemetry_path():
    async def scenario():
        async with serving(FakeBackend(), telemetry_path="/custom/metrics") as (_, client):
            return await client.get("/"), await client.get("/custom/metrics"), await client.get("/metrics")

    page, custom, default = run(scenario())
    assert '<a href="/custom/metrics">' in page.text and "no targets" in page.text
    assert custom.status_code == 200 and default.status_code == 404


def test_metrics_plain_when_gzip_not_accepted():
    backend = FakeBackend()

    async def scenario():
        async with serving(backend) as (_, client):
            identity = await client.get("/metrics", headers={"Accept-Encoding": "identity"})
            refused = await client.get("/metrics", headers={"Accept-Encoding": "gzip;q=0, deflate"})
            return identity, refused

    for response in run(scenario()):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert response.headers["vary"] == "Accept, Accept-Encoding"
        assert "content-encoding" not in response.headers
        assert response.content == backend.current.body


def test_metrics_gzip_is_the_cached_copy_and_decompresses_to_the_body():
    backend = FakeBackend()

    async def scenario():
        async with serving(backend) as (_, client):
            async with client.stream("GET", "/metrics", headers={"Accept-Encoding": "deflate, gzip;q=0.8"}) as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
                return response, raw

    response, raw = run(scenario())
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept, Accept-Encoding"
    assert raw == backend.current.gzip_body
    assert gzip.decompress(raw) == backend.current.body
    assert len(raw) < len(backend.current.body)


def test_metrics_head_has_length_and_no_body():
    backend = FakeBackend()

    async def scenario():
        async with serving(backend) as (_, client):
            return await client.head("/metrics", headers={"Accept-Encoding": "identity"})

    response = run(scenario())
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == len(backend.current.body)


@pytest.mark.parametrize(
    "header, expected",
    [
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip; q=1.0", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("br, *;q=0.1", True),
        ("gzip;q=abc", False),
        ("gzip;q=2", False),
    ],
)
def test_accept_encoding_parsing(header, expected):
    assert accepts_gzip(header) is expected


def test_healthy_and_ready_before_and_after_the_first_round():
    backend = FakeBackend()

    async def scenario():
        async with serving(backend) as (_, client):
            healthy = await client.get("/-/healthy")
            healthy_head = await client.head("/-/healthy")
            before = await client.get("/-/ready")
            backend.is_ready = True
            after = await client.get("/-/ready")
            return healthy, healthy_head, before, after

    healthy, healthy_head, before, after = run(scenario())
    assert (healthy.status_code, healthy.text) == (200, "OK\n")
    assert healthy_head.status_code == 200 and healthy_head.content == b""
    assert (before.status_code, before.text) == (503, "not ready: waiting for the first poll round\n")
    assert (after.status_code, after.text) == (200, "OK\n")


def test_reload_succeeds_with_post_and_put_and_refuses_get():
    async def scenario():
        async with serving(FakeBackend()) as (_, client):
            return await client.post("/-/reload"), await client.put("/-/reload"), await client.get("/-/reload")

    post, put, get = run(scenario())
    assert (post.status_code, post.text) == (200, "config reloaded: 2 targets\n")
    assert put.status_code == 200
    assert get.status_code == 405 and get.headers["allow"] == "POST, PUT"


def test_reload_failure_answers_500_with_one_line_reason():
    backend = FakeBackend()
    backend.reload_error = "/etc/convoso.yml: targets[1].queue_id: expected a string,\ngot a list"

    async def scenario():
        async with serving(backend) as (_, client):
            return await client.post("/-/reload")

    response = run(scenario())
    assert response.status_code == 500
    assert response.text == "reload failed: /etc/convoso.yml: targets[1].queue_id: expected a string, got a list\n"


def test_unknown_path_404_and_wrong_method_405_with_allow():
    async def scenario():
        async with serving(FakeBackend()) as (_, client):
            return (
                await client.get("/nope"),
                await client.get("/metrics/extra"),
                await client.post("/metrics"),
                await client.delete("/"),
            )

    nope, extra, post_metrics, delete_root = run(scenario())
    assert nope.status_code == 404 and extra.status_code == 404
    assert post_metrics.status_code == 405 and post_metrics.headers["allow"] == "GET, HEAD"
    assert delete_root.status_code == 405 and delete_root.headers["allow"] == "GET, HEAD"


def test_fifty_concurrent_scrapers_are_all_answered():
    backend = FakeBackend()

    async def scenario():
        async with serving(backend) as (_, client):
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(base_url=str(client.base_url), limits=limits, timeout=10) as many:
                return await asyncio.gather(*(many.get("/metrics") for _ in range(50)))

    responses = run(scenario())
    assert len(responses) == 50
    assert all(r.status_code == 200 and r.content == backend.current.body for r in responses)


async def raw_request(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()  # until the server closes
    writer.close()
    return answer


def test_oversized_header_gets_431_and_others_are_still_served():
    async def scenario():
        async with serving(FakeBackend()) as (server, client):
            # 17 KiB of header, over the 16 KiB limit, without the closing blank line.
            head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (17 * 1024)
            answer = await raw_request(server.port, head)
            return answer, await client.get("/metrics")

    answer, after = run(scenario())
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert after.status_code == 200


def test_a_slow_client_does_not_block_other_scrapes():
    async def scenario():
        async with serving(FakeBackend()) as (server, client):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /met")  # half a request line, then nothing
            await writer.drain()
            scrapes = await asyncio.gather(*(client.get("/metrics") for _ in range(5)))
            slow_still_open = not reader.at_eof()
            writer.close()
            return scrapes, slow_still_open

    scrapes, slow_still_open = run(scenario())
    assert all(r.status_code == 200 for r in scrapes)
    assert slow_still_open  # answered while the slow client was still connected


def test_metrics_are_served_while_a_reload_is_in_progress():
    backend = FakeBackend()

    async def scenario():
        backend.reload_may_finish = asyncio.Event()
        async with serving(backend) as (_, client):
            reload = asyncio.create_task(client.post("/-/reload"))
            await backend.reload_started.wait()
            scrape = await client.get("/metrics")
            ready = await client.get("/-/ready")
            reload_pending = not reload.done()
            backend.reload_may_finish.set()
            return scrape, ready, reload_pending, await reload

    scrape, ready, reload_pending, reload = run(scenario())
    assert scrape.status_code == 200 and reload_pending
    assert ready.status_code == 503
    assert reload.status_code == 200


PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


@pytest.mark.parametrize("accept, openmetrics", [
    (PROMETHEUS_ACCEPT, True),  # Prometheus 2.x's default
    ("application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5", True),
    ("application/openmetrics-text", True),
    ("text/plain;version=0.0.4, application/openmetrics-text; version=1.0.0; q=0.2", True),  # listed at all
    ("application/openmetrics-text;version=0.0.1", False),  # too old a version
    ("application/openmetrics-text;q=0, text/plain", False),  # refused
    ("text/plain;version=0.0.4", False),
    ("*/*", False),
    ("", False),
])
def test_wants_openmetrics_follows_choose_encoder(accept, openmetrics):
    from convoso_exporter.web.routes import wants_openmetrics

    assert wants_openmetrics(accept) is openmetrics


def test_metrics_in_openmetrics_when_asked_plain_and_gzip():
    from convoso_exporter.expose.cache import Exposition

    backend = FakeBackend()
    text, om = b"convoso_up 1.0\n", b"# TYPE convoso_up gauge\nconvoso_up 1.0\n# EOF\n"
    backend.current = Exposition(text, gzip.compress(text), 1, om, gzip.compress(om))

    async def scenario():
        async with serving(backend) as (_, client):
            plain = await client.get("/metrics", headers={"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "identity"})
            async with client.stream("GET", "/metrics", headers={"Accept": PROMETHEUS_ACCEPT,
                                                                  "Accept-Encoding": "gzip"}) as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            text = await client.get("/metrics", headers={"Accept": "text/plain", "Accept-Encoding": "identity"})
            return plain, response, raw, text

    plain, zipped, raw, text = run(scenario())
    om_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert plain.headers["content-type"] == om_type and plain.content == backend.current.om_body
    assert zipped.headers["content-type"] == om_type and zipped.headers["content-encoding"] == "gzip"
    assert raw == backend.current.om_gzip_body and gzip.decompress(raw) == backend.current.om_body
    assert text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert text.content == backend.current.body
    assert plain.headers["vary"] == "Accept, Accept-Encoding"
