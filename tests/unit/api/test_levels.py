"""convoso_exporter.api.levels: the typed path's levels, and the fields they hold that the
model does not read, learnt from the answers and seen in every answer afterwards."""

from __future__ import annotations

import json

import pytest

from convoso_exporter.api.drift import MAX_UNKNOWN_NAMES, OTHER, Tally
from convoso_exporter.api.levels import Levels, NotTyped, small_doc


def decoded(levels: Levels, doc: dict, secret: str | None = None) -> tuple[dict, Tally]:
    tally = Tally("search", secret)
    root, extras = levels.decode(json.dumps(doc).encode(), tally)
    return small_doc(root, extras, tally), tally


def unknown(tally: Tally) -> set[str]:
    return {name for name, kind in tally.notes if kind == "unknown_field"}


def test_unknown_fields_at_every_level_are_learnt_and_seen_again():
    levels = Levels()
    doc = {"success": True, "total": 3, "entries": {"x": 1},  # entries at the root: not read there
           "data": {"data": {"y": 2}, "entries": {"code": 200, "agent_total": "4", "weird `name`": [1],
                                                  "agents": [{"user_id": "1"}]}}}
    small, tally = decoded(levels, doc)
    assert small == {"success": True, "data": {"entries": {"code": 200, "agent_total": "4"}}}
    assert unknown(tally) == {"total", "entries", "data", "weird `name`"}
    again, tally = decoded(levels, {"agent_total": 1, "total": 5})
    assert again == {"agent_total": 1} and unknown(tally) == {"total"}
    assert unknown(decoded(levels, {"agent_total": 1})[1]) == set()


def test_beyond_the_bound_the_levels_are_decoded_without_looking_for_more():
    levels = Levels()
    many = {f"extra_{i}": i for i in range(MAX_UNKNOWN_NAMES + 3)}
    small, tally = decoded(levels, {"agent_total": 1, **many})
    assert small == {"agent_total": 1}
    assert len(unknown(tally)) == MAX_UNKNOWN_NAMES + 1 and OTHER in unknown(tally)  # the answer's own bound
    assert decoded(levels, {"agent_total": 2, "another": 1})[0] == {"agent_total": 2}


@pytest.mark.parametrize("doc", [{"data": "x"}, {"agents": 5}, {"data": []}])
def test_a_level_of_another_type_is_not_typed(doc):
    with pytest.raises(NotTyped):
        decoded(Levels(), doc)


def test_the_token_in_a_name_never_reaches_a_label():
    small, tally = decoded(Levels(), {"s3cret-T0ken": 1, "agents": []}, "s3cret-T0ken")
    assert small == {} and unknown(tally) == {"<redacted>"}
