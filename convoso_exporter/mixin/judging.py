"""Which basis the 30-day alerts judge each campaign on, and the alerts themselves.

`drop_rate_30d_basis` (settings.py) chooses:

- `answered`: every campaign on dropped ÷ answered;
- `live`: every campaign on dropped ÷ (live-human answered + dropped); a campaign
  without live-human figures is not judged, and `ConvosoDropRate30dLiveMissing` says so;
- `auto` (the default): live-human, unless the campaign's answered figures are current
  and its live-human ones are not (the agent-performance endpoint turned off, or the
  token without it), or it has fewer than `min_answered_30d` live-human calls (their
  first hours): then answered. Turning the endpoint off never silences the alerts, and
  an exporter that is down (both kinds of figures stopped) does not switch the basis.

The choice is a record, `convoso:campaign_drop_rate_30d_basis:info` (value 1, label
`basis`), one per campaign with enough calls to judge on its basis (the guard:
`min_answered_30d` answered calls, live-human ones on the live basis). Each alert joins
each basis's figures to it, so it carries `basis` and its description says what it
divides by. When a campaign's basis changes (auto), its alert resolves on one basis and
fires on the other one `for` later.
"""

from __future__ import annotations

from collections.abc import Callable

from convoso_exporter.mixin.alerting import CAMPAIGN_NAME, Rule, alert
from convoso_exporter.mixin.compliance import (
    ANSWERED,
    LAW_WINDOW,
    LIVE,
    ON_CAMPAIGN_TARGET,
    Basis,
    named,
    sum_rules,
    tile,
    total,
)
from convoso_exporter.mixin.settings import Settings, duration_seconds, duration_text, percent

BASIS = "convoso:campaign_drop_rate_30d_basis:info"
CAMPAIGN_IN = "{{ with $labels.job }} in job {{ . }}{{ end }}"
BASES = {"auto": (LIVE, ANSWERED), "live": (LIVE,), "answered": (ANSWERED,)}


def bases(s: Settings) -> tuple[Basis, ...]:
    """The bases the alerts can judge a campaign on, under the setting."""
    return BASES[s.drop_rate_30d_basis]


def current(what: str, s: Settings) -> str:
    """Whether a campaign has a tile of `what` from the last two tile windows (its figures are current)."""
    return f"present_over_time({tile(what, s)}[{duration_text(2 * duration_seconds(s.tile_window))}])"


def answered_without_live(s: Settings) -> str:
    """The campaigns whose answered figures are current and live-human ones are not: judged
    on answered under `auto`, alerted on under `live`."""
    return f"(\n  {current(ANSWERED.answered, s)}\n  unless {ON_CAMPAIGN_TARGET}\n  {current(LIVE.answered, s)}\n)"


def labelled(expr: str, name: str) -> str:
    """One series of value 1 per campaign `expr` has, labelled `basis="name"`."""
    indented = expr.replace("\n", "\n    ")
    return (
        "label_replace(\n  group by (job, target, campaign_id, campaign_name) (\n"
        f"    {indented}\n  ),\n"
        f'  "basis", "{name}", "", ""\n)'
    )


def basis_rule(s: Settings) -> Rule:
    """The basis each campaign is judged on, where it has enough calls on that basis."""
    live = f"{total(LIVE.answered, LAW_WINDOW)} >= {s.min_answered_30d}"
    if s.drop_rate_30d_basis == "auto":
        live += f"\nunless {ON_CAMPAIGN_TARGET}\n{answered_without_live(s)}"
    choices = {
        "live": labelled(live, "live"),
        "answered": labelled(f"{total(ANSWERED.answered, LAW_WINDOW)} >= {s.min_answered_30d}", "answered"),
    }
    return {"record": BASIS, "expr": f"\nor {ON_CAMPAIGN_TARGET}\n".join(choices[b.name] for b in bases(s))}


def judged(expr: Callable[[Basis], str], s: Settings) -> str:
    """`expr(basis)` of each basis, kept to the campaigns judged on it, with their `basis`."""
    return "\nor\n".join(
        f"(\n{expr(b)}\n)\n* {ON_CAMPAIGN_TARGET} group_left (basis)\n{BASIS}{{basis=\"{b.name}\"}}" for b in bases(s)
    )


def by_basis(s: Settings, live: str, answered: str) -> str:
    """The words for the campaign's basis: a template choosing on `basis` when both can be."""
    if len(bases(s)) == 1:
        return live if bases(s) == (LIVE,) else answered
    return f'{{{{ if eq $labels.basis "live" }}}}{live}{{{{ else }}}}{answered}{{{{ end }}}}'


def basis_words(s: Settings) -> str:
    """What the campaign's rate divides by, in the alert's description."""
    answered = (
        "Basis: answered, dropped ÷ the calls Convoso counts as answered (not documented to count live people only)"
    )
    why = {
        "auto": ", because this campaign has no current live-human figures (or under "
        f"{s.min_answered_30d} live-human calls in 30 days).",
        "answered": ", as drop_rate_30d_basis says.",
    }
    return by_basis(
        s,
        "Basis: live-human, dropped ÷ (calls a live person answered and an agent handled + dropped), "
        "from Convoso's agent-performance figures.",
        answered + why.get(s.drop_rate_30d_basis, "."),
    )


def alerts(s: Settings) -> list[Rule]:
    """Over the line for 30 days (critical); near it, or heading there at the last day's pace
    (warning); in `live`, a campaign that cannot be judged (warning)."""
    critical, warning = percent(s.drop_rate_30d_critical), percent(s.drop_rate_30d_warning)
    who = (
        f"{CAMPAIGN_NAME}{CAMPAIGN_IN} has dropped {{{{ $value | humanizePercentage }}}} of the calls "
        f"{by_basis(s, 'a live person answered', 'answered')} in the last 30 days"
    )
    since = by_basis(s, "its live-human figures began", "the rules were deployed")

    def warned(b: Basis) -> str:
        pace = f"{b.excess} * {s.drop_pace_days} > {ON_CAMPAIGN_TARGET} {b.headroom}"
        pace = f"{b.rate}\nand {ON_CAMPAIGN_TARGET}\n{pace}"
        return f"{b.rate} > {s.drop_rate_30d_warning:g}\nor {ON_CAMPAIGN_TARGET}\n{pace}"

    rules = [
        alert(
            s,
            "ConvosoDropRate30dCritical",
            judged(lambda b: f"{b.rate} > {s.drop_rate_30d_critical:g}", s),
            s.drop_rate_30d_for,
            "critical",
            f"A campaign has dropped over {critical} of its answered calls in the last 30 days.",
            f"{who} (or since {since}, if less), over the limit of {critical}. {basis_words(s)}",
        ),
        alert(
            s,
            "ConvosoDropRate30dWarning",
            judged(warned, s),
            s.drop_rate_30d_for,
            "warning",
            f"A campaign's 30-day drop rate is close to {critical}, or heading there.",
            f"{who}: over the warning level of {warning}, or the last 24 hours' drops over "
            f"{critical} would use up what the 30 days have left within {s.drop_pace_days} days. {basis_words(s)}",
        ),
    ]
    if s.drop_rate_30d_basis == "live":
        rules.append(live_missing(s))
    return rules


def live_missing(s: Settings) -> Rule:
    """`live` only: a campaign whose answered figures are current and live-human ones are not."""
    return alert(
        s,
        "ConvosoDropRate30dLiveMissing",
        named(answered_without_live(s)),
        s.drop_rate_30d_for,
        "warning",
        "A campaign has no live-human figures, so the 30-day drop-rate alerts cannot judge it.",
        f"{CAMPAIGN_NAME}{CAMPAIGN_IN} has answered-call figures but no live-human ones (the exporter's "
        "agent-performance polling is off, or its token lacks that permission); with drop_rate_30d_basis=live "
        "the 30-day drop-rate alerts do not judge it.",
    )


def compliance_rules(s: Settings) -> list[Rule]:
    """The sums, the basis each campaign is judged on, then the alerts that read them
    (a group evaluates in order)."""
    return sum_rules(s) + [basis_rule(s)] + alerts(s)
