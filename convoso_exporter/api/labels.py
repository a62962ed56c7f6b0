"""Text from an answer made fit to be a label value, once, at parse time, before any grouping.

Every text the API sends (ids, names, statuses, skills, scope names) may become a label
value, and values are grouped (counted by status, by campaign, ...) before they are
rendered. So each is normalised first, so that two values are the same exactly when
their label values are the same:

- lone surrogates (a JSON `\\ud800` escape decodes to one) become U+FFFD. Before, the
  statuses "READY\\ud800" and "READY\\udc00" were counted apart and both encoded to
  "READY\\ufffd": one series listed two or three times in a scrape, and Prometheus kept
  one of them;
- NFC: "é" sent precomposed or as "e" + a combining accent is one status, one name;
- the client's token, in any of its forms (`errors.secret_forms`), is redacted: an
  answer that echoes it (in a name, say) must not republish it in `convoso_agent_info`,
  `convoso_campaign_info` or, through discovery, `convoso_target_info`;
- at most MAX_LABEL_CHARS characters (values cut to it that become equal are one); cut
  after the token is redacted, so a cut can never leave part of it.

And the distinct values of the labels that multiply series are bounded per answer
(`fold`): at most MAX_STATUSES statuses and MAX_SCOPE_IDS campaign and queue ids; the
agents beyond them are counted under the value FOLDED ("(other)").

`LabelText` is made per answer and remembers what it normalised: statuses, campaign ids
and skills repeat thousands of times in one answer. Its `text`, `ident` and `skills` are
the field converters of `api/fields.py` with the normalisation built in: they run for
every text field of every agent, and a short ASCII value (nearly all of them) costs one
length and one ASCII check more than before.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from msgspec.structs import replace

from convoso_exporter.api.errors import REDACTED, secret_forms
from convoso_exporter.api.fields import EMPTY_ID, EMPTY_TEXT, SURROGATE, number_text, to_skills
from convoso_exporter.api.limits import MAX_LABEL_CHARS, MAX_SCOPE_IDS, MAX_STATUSES
from convoso_exporter.api.model import COMMON_STATUSES, FOLDED, Agent, Scope

REPLACEMENT = "\ufffd"


def valid_text(text: str) -> str:
    """`text` with lone surrogates replaced: encodable as UTF-8 (for messages, logs)."""
    return text if text.isascii() else SURROGATE.sub(REPLACEMENT, text)


class LabelText:
    """Normalises the text values of one answer (see the module docstring)."""

    def __init__(self, secret: str | None = None) -> None:
        self._forms = self.forms = secret_forms(secret) if secret else ()
        self._seen: dict[str, str] = {}
        self._skills: dict[tuple[str, ...], tuple[str, ...]] = {}
        # `text` and `ident` are closures: they run for every text field of every agent,
        # and a closure's variables are cheaper to reach than attributes.
        # A value shorter than this, and ASCII, is kept as it is: it cannot hold the token.
        fast = min([MAX_LABEL_CHARS + 1, *map(len, self._forms)])
        slow = self.__call__
        empty_text, empty_id = EMPTY_TEXT, EMPTY_ID

        def text(value: Any) -> str | None:
            """`fields.to_text`, normalised: free text; "" and "-" mean not sent."""
            if type(value) is str:
                if value.strip() in empty_text:
                    return None
                return value if len(value) < fast and value.isascii() else slow(value)
            number = number_text(value)  # 1e300 is 301 digits: bounded like any text
            return number if number is None or len(number) < fast else slow(number)

        def ident(value: Any) -> str | None:
            """An id, normalised; "", "-", "0" and 0 mean not sent (for counts "0" is 0)."""
            if type(value) is str:
                if value.strip() in empty_id:
                    return None
                return value if len(value) < fast and value.isascii() else slow(value)
            number = number_text(value)
            return None if number == "0" else number if number is None or len(number) < fast else slow(number)

        self.text = text
        self.ident = ident
        self._fast = fast

    def __call__(self, text: str) -> str:
        if len(text) < self._fast and text.isascii():
            return text
        seen = self._seen.get(text)
        if seen is None:
            seen = self._seen[text] = self._clean(text)
        return seen

    def skills(self, value: Any) -> tuple[str, ...] | None:
        """`fields.to_skills`, each skill normalised."""
        skills = to_skills(value)
        if not skills:
            return skills
        seen = self._skills.get(skills)
        if seen is None:
            seen = self._skills[skills] = tuple(map(self, skills))
        return seen

    def _clean(self, text: str) -> str:
        if not text.isascii():
            text = unicodedata.normalize("NFC", SURROGATE.sub(REPLACEMENT, text))
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        if len(text) > MAX_LABEL_CHARS:
            text = text[:MAX_LABEL_CHARS]
            if not text.isascii():
                text = unicodedata.normalize("NFC", text)  # a cut may split a combining sequence
        return text


# --- distinct values per answer ----------------------------------------------------------

# The labels whose distinct values are capped per answer, and the Agent field of each.
FOLDED_LABELS: tuple[str, ...] = ("status", "campaign_id", "queue_id")
_FIELDS = attrgetter(*FOLDED_LABELS)


def _kept(counts: dict[str, int], cap: int, always: Iterable[str] = ()) -> set[str]:
    """The values to keep: all if there are at most `cap`; else those in `always`, then
    the most used (ties by value), so the choice is stable from one poll to the next."""
    if len(counts) <= cap:
        return set(counts)
    kept = {value for value in always if value in counts}
    ranked = sorted((value for value in counts if value not in kept), key=lambda value: (-counts[value], value))
    kept.update(ranked[: max(0, cap - len(kept))])
    return kept


def fold(agents: tuple[Agent, ...], campaigns: tuple[Scope, ...] | None, queues: tuple[Scope, ...] | None,
         columns: dict[str, list] | None = None,
         ) -> tuple[tuple[Agent, ...], tuple[Scope, ...] | None, tuple[Scope, ...] | None, tuple[tuple[str, int], ...]]:
    """Bound the distinct statuses (MAX_STATUSES, the common ones always kept) and
    campaign and queue ids (MAX_SCOPE_IDS, counting the ids the scope lists name) of one
    answer. Agents beyond them take the value FOLDED, so every agent is still counted
    and the breakdown stays additive; scope list entries beyond them are dropped (they
    are hints for discovery). `columns` (field → the agents' values, in order) saves
    reading them again. Returns the agents, the lists, and per label that had some,
    how many distinct values were folded."""
    lists = {"campaign_id": campaigns, "queue_id": queues}
    keep: dict[str, set[str]] = {}
    folded: list[tuple[str, int]] = []
    # One C-level pass per agent for the three fields (unless the caller has them), then
    # counted in C.
    if columns is not None and agents:
        found = [columns[field] for field in FOLDED_LABELS]
    else:
        found = zip(*map(_FIELDS, agents)) if agents else [()] * len(FOLDED_LABELS)
    for field, column in zip(FOLDED_LABELS, found):
        cap = MAX_STATUSES if field == "status" else MAX_SCOPE_IDS
        distinct = set(column)
        distinct.discard(None)
        distinct.update(scope.id for scope in lists.get(field) or ())
        if len(distinct) <= cap:
            continue  # nothing to fold (nearly always): no need to count
        counts = Counter(column)
        counts.pop(None, None)
        for scope in lists.get(field) or ():
            counts.setdefault(scope.id, 0)
        kept = _kept(counts, cap, COMMON_STATUSES if field == "status" else ())
        if len(kept) < len(counts):
            keep[field] = kept
            folded.append((field, len(counts) - len(kept)))
    if not keep:
        return agents, campaigns, queues, tuple(folded)
    agents = tuple(_folded_agent(agent, keep) for agent in agents)
    campaigns, queues = (_kept_scopes(lists[field], keep.get(field)) for field in ("campaign_id", "queue_id"))
    return agents, campaigns, queues, tuple(folded)


def _folded_agent(agent: Agent, keep: dict[str, set[str]]) -> Agent:
    changes = {field: FOLDED for field, kept in keep.items()
               if (value := getattr(agent, field)) is not None and value not in kept}
    return replace(agent, **changes) if changes else agent


def _kept_scopes(scopes: tuple[Scope, ...] | None, kept: set[str] | None) -> tuple[Scope, ...] | None:
    if scopes is None or kept is None:
        return scopes
    return tuple(scope for scope in scopes if scope.id in kept)
