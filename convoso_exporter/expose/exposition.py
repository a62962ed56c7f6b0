"""Metric families and a fast renderer of the Prometheus text format 0.0.4.

`render()` produces exactly the bytes `prometheus_client.generate_latest` produces for
the same families (`to_prometheus_client()` builds those, for tests and benchmarks),
but with plain string building: one %-template per family and sample kind, filled
and joined by C-level map/zip/join, label values escaped only when some need it, and
a memo of formatted integers. In the run docs/benchmarks.md records ("render" rows,
text alone), that took 120 ms for 100k series where `generate_latest` took 625 ms
over the same, already built families (about 5x; 10.4 vs 61.3 ms at 10k series).
That matters because the exporter renders 100k+ series; `convoso_exporter.expose.cache`
then caches per target so unchanged targets cost nothing.

The pieces are public so that `convoso_exporter.expose.cache` can render one target's share of a
family, cache it, and join the shares of all targets under one HELP/TYPE header:
`headers(family)` and `sections(family)` return aligned tuples, one entry per block
generate_latest writes for the family (one block; three for a gauge histogram, whose
`_gcount` and `_gsum` samples go into separate gauge families after the buckets).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import itemgetter

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    UnknownMetricFamily,
)
from prometheus_client.utils import floatToGoString

# "untyped" exists for one contract name, convoso_agent_count: promtool reserves the
# `_count` suffix for histograms and summaries on every typed family (docs/metrics.md).
TYPES: tuple[str, ...] = ("gauge", "counter", "histogram", "gaugehistogram", "untyped")

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")



class Family:
    """One metric family: name, type, help, label names and its metrics.

    `metrics` holds, per label set, `(labelvalues, value)` for gauges and counters, or
    `(labelvalues, cumulative_counts, sum)` for (gauge) histograms, with one count per
    entry of `buckets` (the last bound is +Inf, so the last count is the total).
    Label values are strings in `labelnames` order; callers in hot loops may append
    to `metrics` directly. Info metrics are gauges named `*_info` with the value 1.
    A counter's name may be given with or without `_total`, as in prometheus_client.
    """

    __slots__ = ("name", "type", "help", "labelnames", "buckets", "metrics", "created")

    def __init__(
        self,
        name: str,
        type: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = (),
    ) -> None:
        if type not in TYPES:
            raise ValueError(f"metric {name}: unknown type {type!r} (one of {', '.join(TYPES)})")
        if type == "counter" and name.endswith("_total"):
            name = name[:-6]
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL_RE.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"metric {name}: invalid label name {label!r}")
        if len(set(labelnames)) != len(labelnames):
            raise ValueError(f"metric {name}: duplicate label names")
        is_histogram = type in ("histogram", "gaugehistogram")
        if is_histogram != bool(buckets):
            raise ValueError(f"metric {name}: buckets are for histograms only, and histograms need them")
        if buckets and (list(buckets) != sorted(buckets) or buckets[-1] != float("inf") or buckets[0] < 0):
            raise ValueError(f"metric {name}: buckets must be sorted, non-negative and end with +Inf")
        self.name = name
        self.type = type
        self.help = help
        self.labelnames = tuple(labelnames)
        self.buckets = tuple(float(b) for b in buckets)
        self.metrics: list[tuple] = []
        # A counter's start time (Unix seconds) per label values, where known: its
        # OpenMetrics `_created` sample (text 0.0.4 has none).
        self.created: dict[tuple[str, ...], float] = {}

    def add(self, labelvalues: Sequence[str], value: float, created: float | None = None) -> None:
        """Add a gauge or counter sample (and a counter's start time, see `created`)."""
        values = tuple(labelvalues)
        self.metrics.append((values, value))
        if created is not None:
            self.created[values] = created

    def add_histogram(self, labelvalues: Sequence[str], counts: Sequence[float], total: float) -> None:
        """Add a histogram: cumulative counts aligned with `buckets`, and the sum."""
        if len(counts) != len(self.buckets):
            raise ValueError(f"metric {self.name}: {len(counts)} counts for {len(self.buckets)} buckets")
        self.metrics.append((tuple(labelvalues), tuple(counts), total))

    def series(self) -> int:
        """How many sample lines this family renders to."""
        per_metric = len(self.buckets) + 2 if self.buckets else 1
        return per_metric * len(self.metrics)


def format_value(value: float) -> str:
    """A sample value exactly as `prometheus_client.utils.floatToGoString` writes it."""
    if type(value) is int:
        # Below 1e6 (Go's switch to exponents) and above -1e16 (Python's), an int
        # formats as its digits plus ".0".
        if -(10**16) < value < 1_000_000:
            return f"{value}.0"
    return floatToGoString(value)


def escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def headers(family: Family) -> tuple[str, ...]:
    """The HELP/TYPE header of each block of `family` (see `sections`)."""
    text = escape_help(family.help)
    name = family.name
    if family.type == "counter":
        return (f"# HELP {name}_total {text}\n# TYPE {name}_total counter\n",)
    if family.type == "gaugehistogram":
        # generate_latest types a gauge histogram as a histogram, and moves _gcount and
        # _gsum into gauge families of their own, sorted by suffix.
        return (
            f"# HELP {name} {text}\n# TYPE {name} histogram\n",
            f"# HELP {name}_gcount {text}\n# TYPE {name}_gcount gauge\n",
            f"# HELP {name}_gsum {text}\n# TYPE {name}_gsum gauge\n",
        )
    return (f"# HELP {name} {text}\n# TYPE {name} {family.type}\n",)


def sections(family: Family) -> tuple[str, ...]:
    """The sample lines of each block of `family`, aligned with `headers(family)`."""
    name, labelnames, metrics = family.name, family.labelnames, family.metrics
    if family.type in ("gauge", "untyped"):
        return (_lines(name, labelnames, metrics),)
    if family.type == "counter":
        return (_lines(name + "_total", labelnames, metrics),)
    buckets = _bucket_lines(family)
    counts = [(values, counts[-1]) for values, counts, _ in metrics]
    sums = [(values, total) for values, _, total in metrics]
    if family.type == "histogram":
        # Per label set: buckets, then _count, then _sum.
        count_name, sum_name = name + "_count", name + "_sum"
        return (
            "".join(
                b + _lines(count_name, labelnames, (c,)) + _lines(sum_name, labelnames, (s,))
                for b, c, s in zip(buckets, counts, sums)
            ),
        )
    return ("".join(buckets), _lines(name + "_gcount", labelnames, counts), _lines(name + "_gsum", labelnames, sums))


def render_text(families: Iterable[Family]) -> str:
    """The whole exposition of `families`, in order."""
    out: list[str] = []
    for family in families:
        for index, (header, text) in enumerate(zip(headers(family), sections(family))):
            # A gauge histogram's _gcount/_gsum blocks exist only if it has samples.
            if index == 0 or text:
                out.append(header)
                out.append(text)
    return "".join(out)


def render(families: Iterable[Family]) -> bytes:
    """Like `prometheus_client.generate_latest`, for these families."""
    return encode(render_text(families))


def encode(text: str) -> bytes:
    """UTF-8, replacing what cannot be encoded (lone surrogates a JSON payload may
    carry) instead of failing the whole exposition, where generate_latest raises."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


# --- OpenMetrics 1.0.0 --------------------------------------------------------------------
# The same samples, told the way only OpenMetrics can: gauge histograms typed as such (their
# _gcount and _gsum beside each label set's buckets), counters' _created, `# UNIT`, `# EOF`.
# Gauge, untyped (OpenMetrics "unknown") and histogram lines are the same bytes in both
# formats, so the renderer shares them (and their compressed copy) between the two.

OPENMETRICS_TYPES = {"untyped": "unknown"}
EOF_LINE = "# EOF\n"


def unit_of(name: str) -> str:
    """The OpenMetrics unit of a family: its name's unit suffix (only seconds here)."""
    return "seconds" if name.endswith("_seconds") else ""


def om_escape_help(text: str) -> str:
    return escape_help(text).replace('"', r"\"")


def om_header(family: Family) -> str:
    """The OpenMetrics HELP/TYPE(/UNIT) lines of `family`."""
    name = family.name
    lines = f"# HELP {name} {om_escape_help(family.help)}\n# TYPE {name} {OPENMETRICS_TYPES.get(family.type, family.type)}\n"
    unit = unit_of(name)
    return lines + (f"# UNIT {name} {unit}\n" if unit else "")


def om_section(family: Family, text_sections: tuple[str, ...] | None = None) -> str:
    """The OpenMetrics sample lines of `family`. `text_sections` (its text 0.0.4
    sections, if already rendered) are reused where the lines are the same."""
    return both_formats(family, text_sections)[1]


def both_formats(family: Family, text_sections: tuple[str, ...] | None = None) -> tuple[tuple[str, ...], str]:
    """`sections(family)` and `om_section(family)`, every line formatted once: a gauge's
    (and a histogram's) OpenMetrics block is its text block itself; a gauge histogram's
    and a counter's are its text lines put in OpenMetrics order."""
    texts = text_sections if text_sections is not None else sections(family)
    if family.type == "gaugehistogram" and family.metrics:
        buckets = _bucket_lines(family)  # again only when the text sections were given
        counts, sums = (_one_per_row(text) for text in texts[1:])
        return texts, "".join(b + c + s for b, c, s in zip(buckets, counts, sums))
    if family.type == "counter" and family.created:
        starts, names = family.created, family.labelnames
        created = _one_per_row(_lines(family.name + "_created", names,
                                      [(values, starts[values]) for values, _ in family.metrics if values in starts]))
        pending = iter(created)
        totals = _one_per_row(texts[0])
        return texts, "".join(total + next(pending) if values in starts else total
                              for total, (values, _) in zip(totals, family.metrics))
    return texts, texts[0]


def _one_per_row(text: str) -> list[str]:
    """The lines of a `_lines` text, each with its newline. Only "\n" ends a line there:
    label values have theirs escaped."""
    return [line + "\n" for line in text.split("\n")[:-1]]


def render_openmetrics(families: Iterable[Family]) -> bytes:
    """The whole OpenMetrics exposition of `families`, `# EOF` included."""
    out = [om_header(family) + om_section(family) for family in families]
    return encode("".join(out) + EOF_LINE)


def to_prometheus_client(families: Iterable[Family], *, created: bool = False) -> list[Metric]:
    """The same families as prometheus_client metric families (the reference). Counters'
    start times only with `created`: prometheus_client's text format would publish them
    as `_created` gauges, which text 0.0.4 from this exporter never had."""
    result: list[Metric] = []
    for family in families:
        labels = list(family.labelnames)
        if family.type in ("gauge", "counter", "untyped"):
            cls = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily, "untyped": UnknownMetricFamily}[family.type]
            metric = cls(family.name, family.help, labels=labels, unit=unit_of(family.name))
            for values, value in family.metrics:
                if created and values in family.created:
                    metric.add_metric(list(values), value, created=family.created[values])
                else:
                    metric.add_metric(list(values), value)
        else:
            cls = HistogramMetricFamily if family.type == "histogram" else GaugeHistogramMetricFamily
            metric = cls(family.name, family.help, labels=labels, unit=unit_of(family.name))
            bounds = [floatToGoString(b) for b in family.buckets]
            for values, counts, total in family.metrics:
                metric.add_metric(list(values), list(zip(bounds, counts)), total)
        result.append(metric)
    return result


class _ValueLine(dict):
    """Formatted sample values with the line's newline, memoised for ints (counts,
    seconds) so the common case is a C-level dict lookup. Floats are formatted but
    not stored (timestamps would make the memo grow without bound)."""

    def __missing__(self, value: float) -> str:
        text = format_value(value) + "\n"
        # 0 is never stored: -0.0 == 0 would then find "0.0" instead of "-0.0".
        if type(value) is int and 0 < value < 1_000_000 and len(self) < 100_000:
            self[value] = text
        return text


_VALUE_LINE = _ValueLine()


def _lines(name: str, labelnames: Sequence[str], metrics: Sequence[tuple]) -> str:
    """Sample lines for (labelvalues, value) pairs: the hot loop of the renderer.

    The per-sample work runs in C (map/zip/%/join): label values are put into the
    sorted-label order generate_latest uses and into one %-template per family, then
    interleaved with the formatted values. Escaping is rare, so it is checked once on
    the result: unescaped values add no backslash, and add quotes or newlines beyond
    the template's own only if they contain some."""
    if not metrics:
        return ""
    order = sorted(range(len(labelnames)), key=labelnames.__getitem__)
    prefix = name + "{" + ",".join(f'{labelnames[i]}="%s"' for i in order) + "} " if labelnames else name + " "
    reorder = itemgetter(*order) if order != sorted(order) else None  # 2+ labels: tuples
    text = _fill(prefix, reorder, metrics)
    if "\\" in text or text.count('"') != 2 * len(labelnames) * len(metrics) or text.count("\n") != len(metrics):
        text = _fill(prefix, reorder, [(tuple(map(escape_label_value, v)), value) for v, value in metrics])
    return text


def _fill(prefix: str, reorder: itemgetter | None, metrics: Sequence[tuple]) -> str:
    values = map(itemgetter(0), metrics)
    if reorder is not None:
        values = map(reorder, values)
    lines = map(_VALUE_LINE.__getitem__, map(itemgetter(1), metrics))
    return "".join(chain.from_iterable(zip(map(prefix.__mod__, values), lines)))


def _bucket_lines(family: Family) -> list[str]:
    """Per label set, the `_bucket` lines of a (gauge) histogram."""
    names = family.labelnames + ("le",)
    bounds = tuple(floatToGoString(b) for b in family.buckets)
    result = []
    for values, counts, _ in family.metrics:
        rows = [(values + (bound,), count) for bound, count in zip(bounds, counts)]
        result.append(_lines(family.name + "_bucket", names, rows))
    return result
