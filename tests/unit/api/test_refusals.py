"""convoso_exporter.api.refusals: what a `success: false` answer stands for."""

from __future__ import annotations

import pytest

from convoso_exporter.api.errors import AccessDenied, ApiError, AuthError, ServerError
from convoso_exporter.api.refusals import check, denial, document_error, failure, flag


@pytest.mark.parametrize(("value", "read"), [
    (True, True), (False, False), (1, True), (0, False), (7, True), ("true", True), (" TRUE ", True), ("1", True),
    ("false", False), ("0", False), ("yes", None), (None, None), ([], None), (1.0, None),
])
def test_flag_reads_success_as_sent(value, read):
    assert flag(value) is read


def test_failure_tells_the_token_from_the_rest():
    assert isinstance(failure({"code": 401}), AuthError)
    assert isinstance(failure({"error": "Invalid authentication token"}), AuthError)
    error = failure({"code": "6012", "text": "User\nis not\tlogged in"})
    assert isinstance(error, ApiError) and error.code == 6012
    assert str(error) == "Convoso error 6012: User is not logged in"
    assert failure({"error": "Queue not found"}).code == 6041  # from the documented text


def test_check_raises_what_a_level_stands_for_and_passes_the_rest():
    level = {"success": True, "agents": []}
    assert check(level) is level
    with pytest.raises(ApiError):
        check({"success": "0", "code": 6026})
    assert document_error({"success": True}) is None and document_error([1]) is None
    assert isinstance(document_error({"success": False}), ApiError)


def test_denial_is_a_refusal_about_an_optional_endpoints_permission_alone():
    refused = denial(failure({"code": 403, "text": "Access denied"}), "performance")
    assert isinstance(refused, AccessDenied) and refused.kind == "denied" and refused.permission == "Agent Performance"
    assert str(refused).endswith("(the token lacks the Agent Performance permission)")
    worded = denial(AuthError("user_activity: authentication failed: no permission for this API"), "user_activity")
    assert isinstance(worded, AccessDenied) and worded.permission == "User Activity"
    # An invalid token is every endpoint's problem; search and logout are never "denied".
    invalid = failure({"error": "Invalid authentication token"})
    assert denial(invalid, "performance") is invalid
    forbidden = AuthError("search: HTTP 403: auth_token not valid for this account", status=403)
    assert denial(forbidden, "search") is forbidden
    other = ServerError("performance: HTTP 500: server error", status=500)
    assert denial(other, "performance") is other
    assert denial(refused, "performance") is refused
