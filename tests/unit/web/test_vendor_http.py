"""convoso_exporter.web.vendor_http: what the simulator and the replay both send besides
their answers: JSON answers, the 404 page, the 405 answer and the token check."""

from __future__ import annotations

from convoso_exporter.web.vendor_http import (
    HTML,
    JSON,
    METHOD_NOT_ALLOWED,
    NOT_FOUND_PAGE,
    dumps,
    json_response,
    method_not_allowed,
    not_found_page,
    token_ok,
)


def test_json_answers_keep_non_ascii_text_and_own_their_headers():
    assert dumps({"name": "José Ñúñez"}) == '{"name": "José Ñúñez"}'.encode()
    first, second = json_response(200, {}), json_response(200, [])
    first.headers.append(("X-Test", "1"))
    assert second.headers == [] and (second.status, second.content_type, second.body) == (200, JSON, b"[]")


def test_an_unknown_path_gets_the_html_page_and_another_method_405():
    page = not_found_page()
    assert (page.status, page.content_type, page.body) == (404, HTML, NOT_FOUND_PAGE)
    refused = method_not_allowed()
    assert (refused.status, refused.body, refused.headers) == (
        405, b'{"success": false, "error": "Method Not Allowed"}', [("Allow", "POST")]
    )
    assert METHOD_NOT_ALLOWED == {"success": False, "error": "Method Not Allowed"}


def test_the_token_must_be_given_and_equal():
    assert token_ok("demo", "demo")
    assert not token_ok(None, "demo") and not token_ok("", "demo") and not token_ok("demo ", "demo")
    assert token_ok("José", "José")
