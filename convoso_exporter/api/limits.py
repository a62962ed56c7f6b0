"""What one answer may cost, beyond its bytes: the bounds the client holds every answer to.

The byte cap (`max_response_bytes`) bounds what is read; these bound what the bytes may
build. A JSON text costs far more as Python objects than as bytes, and most for the
smallest values: `{},` is 3 bytes and a 64-byte dict, so 8 MiB of empty agents became
2.8 million dicts and then 2.8 million `Agent`s (over 500 MB). The structure is
therefore counted on the raw bytes before `json.loads` builds anything (upper bounds:
braces, brackets and commas inside strings count too), then the agents are counted
exactly while parsing.

The bound is stated per agent, from `max_agents`, so that no answer can cost more than
the largest answer accepted anyway: a real agent record is one object (two or three
with `queue_assignment_ids` and the like) of 21 documented and about a dozen live
fields, about 700 bytes; measured at 50,000 agents the exporter holds ~5.9 MB per
1,000 agents. With the defaults an answer may hold at most 100,000 agents (twice the
largest benchmarked account, far above any real one), 400,000 objects and arrays and
6.4 million values; the worst case of such values (short strings) is about 60 bytes
each, so a hostile answer that passes costs no more than a real one of 100,000 agents.

Numbers are bounded too (MAX_NUMBER_CHARS, MAX_COUNT): a count must stay a number every
consumer can add and render; one beyond float range made every render of /metrics fail.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_AGENTS = 100_000
# Objects and arrays per agent (the agent, its arrays, nested extras), and JSON values
# per agent (fields and array items): room for twice the live record.
CONTAINERS_PER_AGENT = 4
VALUES_PER_AGENT = 64
# Room for the root, `data`, `entries`, `call_data` and the campaigns and queues lists.
SLACK = 4096

# Numbers. A JSON number token (or a number sent as a string) longer than this is refused
# while decoding, before Python converts it (int() of a long digit string costs time
# quadratic in its length, and refuses more than 4,300 digits with a ValueError).
MAX_NUMBER_CHARS = 32
# A count above this is out of range: 2**53 is the largest integer a float (and so a
# Prometheus sample) holds exactly, and sums of 100,000 of them still fit a float.
MAX_COUNT = 2**53

# Text. Every text value of an answer is cut to this many characters (api/labels.py):
# ids, names and statuses are far shorter; a longer one is hostile or broken.
MAX_LABEL_CHARS = 256

# Distinct values per answer of the labels that multiply series (api/labels.py folds the
# rest into model.FOLDED). A status costs 14 series per target that lists it (counts,
# time-in-status distribution and max) and 7 per (campaign, queue) in the breakdown:
# 10,000 distinct statuses in one answer were 160,000 series. Accounts use the 7
# common statuses and a few of their own; 64 leaves room for many more. Campaign and
# queue ids: 1,000 each, five times discovery's default max_targets.
MAX_STATUSES = 64
MAX_SCOPE_IDS = 1000


@dataclass(frozen=True)
class Limits:
    """The bounds one answer is held to (see the module docstring)."""

    max_agents: int = MAX_AGENTS

    def __post_init__(self) -> None:
        if self.max_agents < 1:
            raise ValueError(f"max_agents: must be >= 1, got {self.max_agents!r}")

    @property
    def max_containers(self) -> int:
        return CONTAINERS_PER_AGENT * self.max_agents + SLACK

    @property
    def max_values(self) -> int:
        return VALUES_PER_AGENT * self.max_agents + SLACK


DEFAULT_LIMITS = Limits()
