"""convoso_exporter.api.refusals: what a `success: false` answer stands for."""

from __future__ import annotations

import pytest

from convoso_exporter.api.errors import ApiError, AuthError
from convoso_exporter.api.refusals import check, document_error, failure, flag


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
