"""convoso_exporter.expose.distributions: time in status (per status) and calls today as
bucketed distributions over any grouping of agents, bounded by buckets however many agents."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.api.model import Agent
from convoso_exporter.expose.distributions import distributions
from convoso_exporter.expose.exposition import render
from tests.unit.expose.support import agent, samples

INF = float("inf")
# The catalogue's bounds, by hand (docs/metrics.md).
TIME_BOUNDS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, INF)
CALL_BOUNDS = (0, 1, 5, 10, 20, 40, 80, 160, INF)


def by_labels(family) -> dict[tuple[str, ...], tuple]:
    return {metric[0]: metric[1:] for metric in family.metrics}


def test_the_three_families_and_their_labels_for_each_prefix():
    for prefix, group_label in (("convoso_agents", "campaign_id"), ("convoso_target_agents", "target")):
        times, longest, calls = distributions(prefix, {})
        assert (times.name, times.type, times.labelnames) == (
            f"{prefix}_status_time_seconds", "gaugehistogram", (group_label, "status"))
        assert (longest.name, longest.type, longest.labelnames) == (
            f"{prefix}_status_time_max_seconds", "gauge", (group_label, "status"))
        assert (calls.name, calls.type, calls.labelnames) == (f"{prefix}_calls_today", "gaugehistogram", (group_label,))
        assert times.buckets == TIME_BOUNDS and calls.buckets == CALL_BOUNDS
        assert times.metrics == longest.metrics == calls.metrics == []


def test_time_in_status_counted_by_hand_a_value_on_a_bound_is_in_it():
    agents = [
        agent("1", "READY", status_time_sec=5),
        agent("2", "READY", status_time_sec=10),
        agent("3", "READY", status_time_sec=11),
        agent("4", "READY", status_time_sec=30),
        agent("5", "READY", status_time_sec=4000),  # past the last finite bound
        agent("6", "INCALL", status_time_sec=120),
    ]
    times, longest, _ = distributions("convoso_agents", {("1001",): agents})
    assert by_labels(times) == {
        ("1001", "READY"): ((2, 4, 4, 4, 4, 4, 4, 4, 4, 5), 4056),
        ("1001", "INCALL"): ((0, 0, 0, 1, 1, 1, 1, 1, 1, 1), 120),
    }
    assert by_labels(longest) == {("1001", "READY"): (4000,), ("1001", "INCALL"): (120,)}


def test_calls_today_counted_by_hand_agents_without_a_figure_left_out():
    agents = [agent("1", calls_today=0), agent("2", calls_today=1), agent("3", calls_today=2),
              agent("4", calls_today=200), agent("5", calls_today=None), agent("6", calls_today=160)]
    _, _, calls = distributions("convoso_target_agents", {("east",): agents})
    assert by_labels(calls) == {("east",): ((1, 2, 3, 3, 3, 3, 3, 4, 5), 363)}


def test_an_agent_without_a_status_or_a_time_is_in_no_status_but_its_calls_count():
    agents = [agent("1", None, status_time_sec=50, calls_today=3), agent("2", "", status_time_sec=50, calls_today=4),
              agent("3", "PAUSED", status_time_sec=None, calls_today=5), agent("4", "PAUSED", status_time_sec=70)]
    times, longest, calls = distributions("convoso_agents", {("1001",): agents})
    assert by_labels(times) == {("1001", "PAUSED"): ((0, 0, 0, 1, 1, 1, 1, 1, 1, 1), 70)}
    assert by_labels(longest) == {("1001", "PAUSED"): (70,)}
    assert by_labels(calls) == {("1001",): ((0, 0, 4, 4, 4, 4, 4, 4, 4), 16)}  # 3, 4, 5 and agent 4's 4: all <= 5


def test_statuses_in_the_usual_order_then_the_others_by_name_per_group_in_group_order():
    statuses = ["LUNCH", "WRAP", "ACW", "READY", "LOGGED_OUT", "TRANSFER", "INCALL", "RINGING", "PAUSED"]
    groups = {(campaign,): [agent(f"{campaign}{i}", s) for i, s in enumerate(statuses)] for campaign in ("2", "1")}
    times, longest, _ = distributions("convoso_agents", groups)
    order = ["READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER", "LOGGED_OUT", "ACW", "LUNCH"]
    expected = [(campaign, status) for campaign in ("2", "1") for status in order]
    assert [labels for labels, *_ in times.metrics] == expected
    assert [labels for labels, _ in longest.metrics] == expected


def test_groups_without_agents_or_without_calls_add_no_calls_series():
    groups = {("empty",): [], ("no-calls",): [agent("1", "READY", calls_today=None)]}
    times, longest, calls = distributions("convoso_target_agents", groups)
    assert [labels for labels, *_ in times.metrics] == [("no-calls", "READY")]
    assert len(longest.metrics) == 1 and calls.metrics == []


def test_the_distributions_render_as_gauge_histograms():
    agents = [agent("1", "READY", status_time_sec=45, calls_today=7), agent("2", "READY", status_time_sec=700)]
    body = render(distributions("convoso_agents", {("1001",): agents}))
    got = samples(body)

    def value(name: str, **labels: str) -> float:
        return got[(name, frozenset({"campaign_id": "1001", **labels}.items()))]

    assert value("convoso_agents_status_time_seconds_bucket", status="READY", le="30.0") == 0
    assert value("convoso_agents_status_time_seconds_bucket", status="READY", le="60.0") == 1
    assert value("convoso_agents_status_time_seconds_bucket", status="READY", le="900.0") == 2
    assert value("convoso_agents_status_time_seconds_gcount", status="READY") == 2
    assert value("convoso_agents_status_time_seconds_gsum", status="READY") == 745
    assert value("convoso_agents_status_time_max_seconds", status="READY") == 700
    assert value("convoso_agents_calls_today_bucket", le="10.0") == 2  # both agents: 7 and the default 4
    assert value("convoso_agents_calls_today_gsum") == 11


agents_strategy = st.lists(
    st.builds(
        lambda status, seconds, calls: Agent(user_id="u", status=status, status_time_sec=seconds, calls_today=calls),
        st.sampled_from(["READY", "INCALL", "LUNCH", None]),
        st.one_of(st.none(), st.integers(0, 5000), st.sampled_from([10, 30, 60, 3600])),
        st.one_of(st.none(), st.integers(0, 300), st.sampled_from([0, 1, 5, 160])),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(agents_strategy)
def test_each_bucket_counts_the_values_at_or_below_its_bound(agents):
    times, longest, calls = distributions("convoso_agents", {("c",): agents})
    with_time = [a for a in agents if a.status and a.status_time_sec is not None]
    for status in {a.status for a in with_time}:
        values = [a.status_time_sec for a in with_time if a.status == status]
        counts, total = by_labels(times)[("c", status)]
        assert list(counts) == [sum(v <= bound for v in values) for bound in TIME_BOUNDS]
        assert total == sum(values) and by_labels(longest)[("c", status)] == (max(values),)
    assert sum(counts[-1] for counts, _ in by_labels(times).values()) == len(with_time)  # each agent once
    values = [a.calls_today for a in agents if a.calls_today is not None]
    if values:
        assert by_labels(calls) == {("c",): (tuple(sum(v <= b for v in values) for b in CALL_BOUNDS), sum(values))}
    else:
        assert calls.metrics == []
