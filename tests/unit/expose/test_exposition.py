"""convoso_exporter.expose.exposition: byte-identical to prometheus_client.generate_latest."""

from __future__ import annotations

import math
import random

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter.expose.exposition import (
    Family,
    format_value,
    headers,
    render,
    sections,
    to_prometheus_client,
)

INF = math.inf

HOSTILE = (
    "",
    "plain",
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "two\nlines",
    "\\n literally",
    '\\"',
    "emoji 😀🎧",
    "שלום עולם",  # right-to-left
    "مرحبا ‮ reversed",  # RTL override
    "e\u0301 combining",
    "tab\there",
    "%s %d %(x)s {0} {}",
    "a=b,c}d{",
    "nul\x00byte",
)

TRICKY_VALUES = (
    0, 1, -1, 7, 9_999, 10_000, 999_999, 1_000_000, 1_234_567, -1_234_567,
    10**15, 10**16, -(10**16), 10**17, 2**70,
    0.0, -0.0, 0.5, -2.5, 0.1 + 0.2, 1e-9, -1e-300, 5e-324, 1e6, 1e300, 1.7976931348623157e308,
    123456.789, 1234567.891, 1.699999995e9,
    INF, -INF, math.nan, True, False,
)


def reference(families: list[Family]) -> bytes:
    """generate_latest over the prometheus_client version of the same families."""
    metrics = to_prometheus_client(families)

    class Fixed:
        def collect(self):
            return metrics

    return generate_latest(Fixed())


def assert_identical(families: list[Family]) -> bytes:
    ours = render(families)
    expected = reference(families)
    assert ours.decode().splitlines() == expected.decode().splitlines()
    assert ours == expected
    return ours


def test_hostile_label_values_render_exactly_like_generate_latest():
    family = Family("x_hostile", "gauge", "labels\\with\nhelp \"quotes\"", ("target", "a_label", "zz", "b"))
    for i, value in enumerate(HOSTILE):
        family.add((value, HOSTILE[-1 - i], HOSTILE[(i * 5) % len(HOSTILE)], "plain"), i)
    body = assert_identical([family])
    assert b'say \\"hi\\"' in body and b"two\\nlines" in body and "שלום".encode() in body


@pytest.mark.parametrize("special", ["\\", '"', "\n", '\\"', "\\n"])
def test_each_escaped_character_alone_is_escaped(special):
    family = Family("x_one", "gauge", "h", ("target", "status"))
    family.add(("t", f"a{special}b"), 1)
    family.add(("t", "plain"), 2)
    assert_identical([family])


def test_one_hostile_value_among_many_is_still_escaped():
    family = Family("x_mixed", "gauge", "h", ("user_id", "status"))
    for i in range(500):
        family.add((str(i), "READY"), i)
    family.add(('evil"\n\\', "READY"), 1)
    assert_identical([family])


def test_values_format_exactly_like_generate_latest():
    family = Family("x_values", "gauge", "values", ("i",))
    for i, value in enumerate(TRICKY_VALUES):
        family.add((str(i),), value)
    rng = random.Random(7)
    for i in range(2000):
        family.add((f"r{i}",), rng.choice([rng.randint(-(10**18), 10**18), rng.randint(0, 2_000_000), rng.uniform(-1e9, 1e9), rng.random()]))
    assert_identical([family])


def test_format_value_matches_float_to_go_string_twice():
    # The memo of formatted ints must not change an answer the second time round.
    from prometheus_client.utils import floatToGoString

    for value in TRICKY_VALUES + TRICKY_VALUES:
        assert format_value(value) == floatToGoString(value)


def test_every_type_and_empty_families_match():
    gauge = Family("x_gauge", "gauge", "a gauge", ("target",))
    gauge.add(("a",), 1)
    counter = Family("x_requests_total", "counter", "a counter", ("endpoint", "outcome"))
    counter.add(("search", "success"), 3)
    counter.add(("search", "timeout"), 0)
    plain_counter = Family("x_polls", "counter", "named without _total")
    plain_counter.add((), 12)
    histogram = Family("x_latency_seconds", "histogram", "latency", ("endpoint",), (0.05, 0.1, 1, INF))
    histogram.add_histogram(("search",), (1, 2, 3, 4), 1.25)
    histogram.add_histogram(("logout",), (0, 0, 0, 0), 0.0)
    gauge_histogram = Family("x_status_time_seconds", "gaugehistogram", "distribution", ("target", "status"), (10, 30, INF))
    gauge_histogram.add_histogram(("t", "READY"), (1, 2, 5), 100)
    gauge_histogram.add_histogram(("u", 'we"ird'), (0, 0, 1), 1e7)
    no_labels = Family("x_targets", "gauge", "no labels")
    no_labels.add((), 42)
    families = [
        gauge,
        Family("x_empty", "gauge", "no samples", ("target",)),
        counter,
        plain_counter,
        histogram,
        gauge_histogram,
        Family("x_empty_distribution", "gaugehistogram", "no samples", ("target",), (1, INF)),
        Family("x_empty_histogram", "histogram", "no samples", (), (1, INF)),
        no_labels,
    ]
    body = assert_identical(families).decode()
    assert "# TYPE x_requests_total counter\nx_requests_total{endpoint=\"search\",outcome=\"success\"} 3.0\n" in body
    assert "# TYPE x_status_time_seconds_gcount gauge" in body
    assert "x_empty_distribution_gcount" not in body
    parsed = {f.name: f for f in text_string_to_metric_families(body)}
    assert parsed["x_status_time_seconds"].type == "histogram"


def test_random_families_match():
    rng = random.Random(11)
    families = []
    for index in range(30):
        labelnames = tuple(rng.sample(["target", "user_id", "status", "campaign_name", "a", "z_last"], rng.randint(0, 4)))
        kind = rng.choice(["gauge", "counter", "histogram", "gaugehistogram"])
        buckets = (0, 1, 2.5, 1e6, INF) if "histogram" in kind else ()
        family = Family(f"x_random_{index}", kind, rng.choice(HOSTILE), labelnames, buckets)
        for _ in range(rng.randint(0, 40)):
            values = tuple(rng.choice(HOSTILE) + str(rng.randint(0, 9)) for _ in labelnames)
            if buckets:
                counts = sorted(rng.randint(0, 50) for _ in buckets)
                family.add_histogram(values, counts, rng.choice(TRICKY_VALUES[:30]))
            else:
                family.add(values, rng.choice(TRICKY_VALUES))
        families.append(family)
    assert_identical(families)


def test_sections_of_split_families_join_to_the_merged_family():
    """What convoso_exporter.expose.cache relies on: render each target's share of a family alone,
    then put every block's shares under that block's header."""
    spec = ("x_dist", "gaugehistogram", "help", ("target",), (1, INF))
    shares = [Family(*spec) for _ in range(3)]
    shares[0].add_histogram(("a",), (1, 2), 3)
    shares[2].add_histogram(("c",), (0, 4), 9)
    merged = Family(*spec)
    for share in shares:
        merged.metrics.extend(share.metrics)
    joined = "".join(
        header + "".join(sections(share)[block] for share in shares)
        for block, header in enumerate(headers(merged))
    )
    assert joined.encode() == reference([merged])


def test_lone_surrogate_is_replaced_instead_of_failing_the_exposition():
    family = Family("x_bad", "gauge", "h", ("name",))
    family.add(("bad \ud800 value",), 1)
    family.add(("fine",), 2)
    with pytest.raises(UnicodeEncodeError):
        reference([family])
    assert render([family]) == b'# HELP x_bad h\n# TYPE x_bad gauge\nx_bad{name="bad ? value"} 1.0\nx_bad{name="fine"} 2.0\n'


def test_series_counts_sample_lines():
    histogram = Family("x_h", "histogram", "h", ("e",), (1, 2, INF))
    histogram.add_histogram(("a",), (0, 1, 1), 1.5)
    gauge_histogram = Family("x_g", "gaugehistogram", "g", (), (1, INF))
    gauge_histogram.add_histogram((), (1, 1), 0.5)
    gauge = Family("x", "gauge", "x", ("a",))
    gauge.add(("1",), 1)
    gauge.add(("2",), 2)
    families = [histogram, gauge_histogram, gauge]
    lines = [line for line in render(families).decode().splitlines() if not line.startswith("#")]
    assert sum(f.series() for f in families) == len(lines) == 5 + 4 + 2


@pytest.mark.parametrize(
    "args, message",
    [
        (("x", "summary", "h"), "unknown type"),
        (("1x", "gauge", "h"), "invalid metric name"),
        (("x", "gauge", "h", ("bad-label",)), "invalid label name"),
        (("x", "gauge", "h", ("__reserved",)), "invalid label name"),
        (("x", "histogram", "h", ("le",), (1, INF)), "invalid label name"),
        (("x", "gauge", "h", ("a", "a")), "duplicate label names"),
        (("x", "histogram", "h"), "histograms need them"),
        (("x", "gauge", "h", (), (1, INF)), "buckets are for histograms"),
        (("x", "histogram", "h", (), (2, 1, INF)), "must be sorted"),
        (("x", "histogram", "h", (), (1, 2)), "end with +Inf"),
        (("x", "histogram", "h", (), (-1, INF)), "non-negative"),
    ],
)
def test_bad_families_are_refused_with_a_clear_message(args, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        Family(*args)


def test_histogram_counts_must_match_buckets():
    family = Family("x", "histogram", "h", (), (1, INF))
    with pytest.raises(ValueError, match="3 counts for 2 buckets"):
        family.add_histogram((), (1, 2, 3), 1.0)
