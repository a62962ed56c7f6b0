"""convoso_exporter.poll.discovery: scopes in the account answer become targets."""

from __future__ import annotations

import re

from convoso_exporter.api.model import Agent, Scope, SearchResult
from convoso_exporter.config.schema import DiscoverySettings
from convoso_exporter.poll.discovery import FILTERED, OVER_LIMIT, POLLED, Discovery

LIVE = SearchResult(
    agents=(
        Agent(user_id="1", campaign_id="1002", campaign_name="Solar", queue_id="2003", queue_name="Solar Main"),
        Agent(user_id="2", campaign_id="1001", queue_id="2001"),
    ),
    campaigns=(Scope("1001", "Medicare"), Scope("1002", "Solar"), Scope("1010", "Idle campaign")),
    queues=(Scope("2001", "Medicare Main"),),
)


def names(found) -> list[str]:
    return [target.name for target in found.targets]


def test_every_scope_listed_or_carried_becomes_a_target_in_a_stable_order():
    found = Discovery(DiscoverySettings(interval=60)).update(LIVE, 100.0)
    assert names(found) == ["campaign:1001", "campaign:1002", "campaign:1010", "queue:2001", "queue:2003"]
    by_name = {t.name: t for t in found.targets}
    assert by_name["campaign:1001"].campaign_id == "1001" and by_name["campaign:1001"].campaign_name == "Medicare"
    assert by_name["queue:2003"].queue_id == "2003" and by_name["queue:2003"].queue_name == "Solar Main"
    assert all(t.interval == 60 and t.kind in ("campaign", "queue") for t in found.targets)
    assert found.counts[("campaign", POLLED)] == 3 and found.counts[("queue", POLLED)] == 2


def test_numeric_ids_sort_as_numbers():
    result = SearchResult(campaigns=(Scope("10"), Scope("9"), Scope("abc"), Scope("100")))
    assert names(Discovery(DiscoverySettings()).update(result, 0.0)) == [
        "campaign:9", "campaign:10", "campaign:100", "campaign:abc"]


def test_include_and_exclude_match_id_or_name_and_are_counted():
    settings = DiscoverySettings(include=re.compile("Solar|^2001$"), exclude=re.compile("Main"))
    found = Discovery(settings).update(LIVE, 0.0)
    # Solar (by name) is in; queue 2001 matches include by id but "Medicare Main" is excluded.
    assert names(found) == ["campaign:1002"]
    assert found.counts[("campaign", FILTERED)] == 2 and found.counts[("queue", FILTERED)] == 2


def test_max_targets_cuts_queues_first_and_counts_the_cut():
    found = Discovery(DiscoverySettings(max_targets=4)).update(LIVE, 0.0)
    assert names(found) == ["campaign:1001", "campaign:1002", "campaign:1010", "queue:2001"]
    assert found.counts[("queue", OVER_LIMIT)] == 1 and found.counts[("queue", POLLED)] == 1


def test_campaigns_or_queues_can_be_switched_off():
    assert names(Discovery(DiscoverySettings(queues=False)).update(LIVE, 0.0)) == [
        "campaign:1001", "campaign:1002", "campaign:1010"]
    assert names(Discovery(DiscoverySettings(campaigns=False)).update(LIVE, 0.0)) == ["queue:2001", "queue:2003"]


def test_a_vanished_scope_lingers_for_the_staleness_window_then_goes():
    discovery = Discovery(DiscoverySettings(interval=60))  # window: 3 intervals = 180 s
    discovery.update(LIVE, 0.0)
    without = SearchResult(agents=LIVE.agents[1:], campaigns=LIVE.campaigns[:1], queues=LIVE.queues)
    assert "campaign:1002" in names(discovery.update(without, 100.0))
    assert "campaign:1002" in names(discovery.update(without, 180.0))
    assert "campaign:1002" not in names(discovery.update(without, 181.0))
    # Seen again: back at once.
    assert "campaign:1002" in names(discovery.update(LIVE, 200.0))


def test_a_renamed_campaign_is_the_same_target_with_a_new_name():
    discovery = Discovery(DiscoverySettings())
    before = discovery.update(LIVE, 0.0).targets[0]
    renamed = SearchResult(campaigns=(Scope("1001", "Medicare 2027"),))
    after = discovery.update(renamed, 1.0).targets[0]
    assert before == after and not before.same_names(after)
    assert after.campaign_name == "Medicare 2027"


def test_the_documented_shape_discovers_from_the_agents_alone():
    documented = SearchResult(agents=(Agent(user_id="1", campaign_id="111", queue_id="222"), Agent(user_id="2")))
    assert names(Discovery(DiscoverySettings()).update(documented, 0.0)) == ["campaign:111", "queue:222"]


def test_scopes_that_come_and_go_are_remembered_for_three_intervals_names_included():
    discovery = Discovery(DiscoverySettings(interval=10, include=re.compile("^10")))  # window: 30 s
    for poll in range(100):  # a new campaign every 5 s, each in one answer only
        ident = f"{1000 + poll}" if poll % 2 else f"9{poll}"  # every other one filtered out
        found = discovery.update(SearchResult(campaigns=(Scope(ident, f"Promo {poll}"),)), 5.0 * poll)
    # Seen at 495 s, and the six answers before it within 30 s: the rest is forgotten.
    assert names(found) == ["campaign:1093", "campaign:1095", "campaign:1097", "campaign:1099"]
    assert found.counts[("campaign", POLLED)] == 4 and found.counts[("campaign", FILTERED)] == 3
    assert len(discovery._names) == len(discovery._seen) == 7
    assert [t.campaign_name for t in found.targets] == ["Promo 93", "Promo 95", "Promo 97", "Promo 99"]
