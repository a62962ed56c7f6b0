"""The shape of the answers the client reads: which fields each object holds and how each
is read. One set of tables for the typed path (api/typed.py), the reference parser
(api/parse.py) and the shape telemetry (api/drift.py), so that what is read, what is
documented and what is reported as unexpected can never disagree.
"""

from __future__ import annotations

from convoso_exporter.api.model import Agent

# How each agent field is read: a count (`fields.to_count`), or text, an id or skills,
# which `labels.LabelText` reads and normalises. Every one is documented.
COUNT, TEXT, IDENT, SKILLS = "count", "text", "ident", "skills"
AGENT_KINDS: dict[str, str] = {
    "user_id": IDENT,
    "user_full_name": TEXT,
    "campaign_id": IDENT,
    "campaign_name": TEXT,
    "queue_id": IDENT,
    "queue_name": TEXT,
    "queue_assignment": TEXT,
    "list_id": IDENT,
    "extension": IDENT,
    "channel_type": TEXT,
    "call_type": TEXT,
    "lead_id": IDENT,
    "call_log_id": IDENT,
    "calls_today": COUNT,
    "total_calls": COUNT,
    "status": TEXT,
    "status_label": TEXT,
    "status_time_sec": COUNT,
    "status_time_mmss": TEXT,
    "connection_type": TEXT,
    "skill_options": SKILLS,
}
# In Agent's field order, so values can be passed positionally. A KeyError here at
# import means the model gained a field this table does not read yet.
AGENT_NAMES: tuple[str, ...] = Agent.__struct_fields__
AGENT_FIELD_KINDS: tuple[str, ...] = tuple(AGENT_KINDS[name] for name in AGENT_NAMES)

# The root's counts (documented, integers) and call_data's.
ROOT_COUNTS: tuple[str, ...] = (
    "queue_dialable_leads",
    "queue_calls_today",
    "queue_dropped",
    "queue_answered",
    "agent_total",
    "agent_incall",
    "agent_ready",
    "agent_paused",
)
CALL_DATA_FIELDS: tuple[str, ...] = ("total_calls", "answered", "dropped")

# Where the payload may sit (the live service wraps it), outermost first after the root,
# and the fields of a level that say how the request went (an error document's).
WRAPPERS: tuple[str, ...] = ("data", "entries")
STATUS_FIELDS: tuple[str, ...] = ("success", "code", "text", "error", "message")
# What a level of a search answer may hold that the parser reads; anything else is an
# unknown field. The root reads `data`, `data` reads `entries`: a `data` inside `data`
# is not read, so it is unknown there. All but `agents` are small: the typed path
# (api/levels.py) leaves them raw for the reference decoder.
SEARCH_SMALL_FIELDS: tuple[str, ...] = (*STATUS_FIELDS, "call_data", "campaigns", "queues", *ROOT_COUNTS)
SEARCH_LEVEL_FIELDS: frozenset[str] = frozenset(("agents", *SEARCH_SMALL_FIELDS))
LOGOUT_LEVEL_FIELDS: frozenset[str] = frozenset(STATUS_FIELDS)


def level_fields(known: frozenset[str], depth: int) -> frozenset[str]:
    """The fields read at a level: the root (0) reads `data`, `data` (1) reads `entries`."""
    return known | {WRAPPERS[depth]} if depth < len(WRAPPERS) else known


# The live service's `campaigns` / `queues` lists: where an entry may carry its id and
# its name, in order of preference.
SCOPE_ID_KEYS = {"campaigns": ("value", "id", "campaign_id"), "queues": ("value", "id", "queue_id")}
SCOPE_NAME_KEYS = {"campaigns": ("name", "campaign_name", "label"), "queues": ("name", "queue_name", "label")}
