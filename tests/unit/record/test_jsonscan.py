"""record/jsonscan.py: values replaced in place, every other byte kept; not-JSON said."""

from __future__ import annotations

import json

import pytest

from convoso_exporter.record.jsonscan import Place, rewrite


def keep(value, place):
    return None


def test_only_the_values_replaced_change_spacing_order_and_numbers_are_kept_byte_for_byte():
    text = '{ "b" :[ "x" , {"n": 1.50e3, "name":"x", "e": "\\u00e9x"} ],\n "a":-0.0, "x": "y" }\n'
    out = rewrite(text, lambda v, p: "Ⓧ" if v == "x" and not p.is_key else None,
                  lambda n, p: "7" if n == "1.50e3" else None)
    assert out == text.replace('"x" ,', '"Ⓧ" ,').replace('"name":"x"', '"name":"Ⓧ"').replace("1.50e3", "7")
    assert json.loads(out)["x"] == "y"  # a key named x is a key, not a value


def test_every_value_is_told_where_it_stands():
    seen = []
    rewrite('{"agents": {"7": {"name": "a", "ids": ["1", 2]}}, "campaigns": [{"name": "c"}]}',
            lambda v, p: seen.append((v, p)), lambda n, p: seen.append((n, p)))
    places = {value: place for value, place in seen if not place.is_key}
    assert places["a"] == Place("name", False, (None, "agents", "7"))
    assert places["1"] == Place("ids", False, (None, "agents", "7", "ids"))
    assert places["2"] == Place("ids", False, (None, "agents", "7", "ids"))
    assert places["c"] == Place("name", False, (None, "campaigns", "campaigns"))
    assert ("7", Place("7", True, (None, "agents"))) in seen


def test_a_replacement_holding_what_utf8_cannot_is_escaped():
    out = rewrite('["a"]', lambda v, p: "\ud800x", keep)
    assert out == '["\\ud800x"]' and out.encode()


@pytest.mark.parametrize("text", ['{"a":}', "[1,]", '{"a" 1}', "1 2", '"\\q"', "{", "[}", "", "nul", '{"a":1,}',
                                  "<html>", '["1]', "[1] x", '"abc', "[01]", "{1: 2}"])
def test_what_is_not_json_is_said(text):
    assert rewrite(text, keep, keep) is None
