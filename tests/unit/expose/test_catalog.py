"""convoso_exporter.expose.catalog: the one list of families, and docs/metrics.md held to it.

The dashboards' tests check their queries against docs/metrics.md, so the document must
say exactly what the exporter serves: every family, its type and its labels.
"""

from __future__ import annotations

import re

import pytest

from convoso_exporter.expose.catalog import BY_NAME, INDEX, SPECS, new_family
from convoso_exporter.expose.exposition import TYPES
from tests.support import ROOT

DOC = ROOT / "docs" / "metrics.md"
ROW = re.compile(r"^\|\s*`(convoso_[a-z0-9_]+)`\s*\|\s*([a-z]+)[^|]*\|\s*([^|]*)\|")


def documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (type, label names) from every table row of docs/metrics.md."""
    rows: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        name, kind, labels = match.groups()
        assert name not in rows, f"docs/metrics.md documents {name} twice"
        names = tuple(label.strip() for label in labels.split(",") if label.strip() not in ("", "—", "le"))
        rows[name] = (kind, names)
    return rows


def test_every_family_is_documented_with_its_type_and_labels():
    docs = documented()
    for spec in SPECS:
        assert spec.name in docs, f"{spec.name} is served but not in docs/metrics.md"
        kind, labels = docs[spec.name]
        assert kind == spec.type, f"{spec.name}: docs say {kind}, the exporter serves {spec.type}"
        assert labels == spec.labelnames, f"{spec.name}: docs say {labels}, the exporter serves {spec.labelnames}"


def test_the_docs_document_nothing_the_exporter_does_not_serve():
    assert set(documented()) - {spec.name for spec in SPECS} == set()


def test_the_docs_list_families_in_output_order():
    served = [spec.name for spec in SPECS]
    assert [name for name in documented() if name in BY_NAME] == served


def test_names_follow_the_conventions():
    for spec in SPECS:
        assert spec.name.startswith("convoso_"), spec.name
        assert spec.type in TYPES, spec.name
        assert spec.name.endswith("_total") == (spec.type == "counter"), spec.name
        if spec.name.endswith("_info"):
            assert spec.type == "gauge", spec.name
        for forbidden in ("type", "job", "instance", "region", "env"):
            assert forbidden not in spec.labelnames, f"{spec.name}: label {forbidden!r}"
        assert spec.help.endswith((".", ")")), f"{spec.name}: help is a sentence"


def test_index_and_lookup_agree():
    for position, spec in enumerate(SPECS):
        assert INDEX[spec.family().name] == position
        assert new_family(spec.name).labelnames == spec.labelnames
    with pytest.raises(KeyError):
        new_family("convoso_no_such_metric")


def test_a_familys_source_is_one_of_the_sources_and_never_a_target_kind_constant():
    # config/schema.py's ACCOUNT and CUSTOM are target kinds; a family's source was a
    # constant of the same names here, which read as the other.
    from convoso_exporter.expose import catalog
    from convoso_exporter.expose.catalog import Source

    sources = {value for name, value in vars(Source).items() if name.isupper()}
    assert {spec.source for spec in SPECS} <= sources
    assert not hasattr(catalog, "ACCOUNT") and not hasattr(catalog, "CUSTOM")
