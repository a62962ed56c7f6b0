"""Hypothesis strategies for /agent-monitor/search answers in every shape the API uses
(the documented flat one, the live wrapped one, keyed collections, numbers as strings,
empties, error documents) filled with hostile values: lone surrogates, combining marks,
numbers beyond float range or with thousands of digits, NaN, wrong types.

Shared by the parser property (tests/unit/api/test_parse_properties.py) and the
renderer's promtool property (tests/system/test_render_properties.py).
"""

from __future__ import annotations

from hypothesis import strategies as st

AGENT_FIELDS = (
    "user_id", "user_full_name", "campaign_id", "campaign_name", "queue_id", "queue_name", "queue_assignment",
    "list_id", "extension", "channel_type", "call_type", "lead_id", "call_log_id", "calls_today", "total_calls",
    "status", "status_label", "status_time_sec", "status_time_mmss", "connection_type", "skill_options",
    # live extras
    "availability_id", "inbound_only", "queue_assignment_ids", "last_state_change", "since_last_update",
)
ROOT_COUNTS = (
    "queue_dialable_leads", "queue_calls_today", "queue_dropped", "queue_answered",
    "agent_total", "agent_incall", "agent_ready", "agent_paused",
)
STATUSES = ("READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER", "LOGGED_OUT", "LUNCH", "ACW_CUSTOM")
# Values that differ but must end as the same label value (or must not break one): drawn
# often, so that two of them meet in one answer.
CONFUSABLE = ("READY\ud800", "READY\udc00", "READY\udfff", "CAFE\u0301", "CAF\u00c9", "x" * 300, "x" * 300 + "y",
              "a\u2028b", "a\rb", "(other)", "")

# Text with everything in it: lone surrogates (Cs), combining marks, controls, quotes.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
hostile_text = st.one_of(
    any_text,
    st.sampled_from(["", "-", "0", " ", "READY\ud800", "READY\udc00", "CAFE\u0301", "CAF\u00c9", "a\nb", 'q"\\',
                     "x" * 300, "é" * 300, "(other)", "inf", "NaN", "1e400", "-5", " 12.0 ", "05:00", "1:02:03",
                     "99999999999999999999:00", "1" + "0" * 400, "9" * 5000]),
)
huge_numbers = st.sampled_from([10**400, -(10**400), 2**53, 2**53 + 1, 2**64, 1e308, -1e308, 1e-300, 0.5])
numbers = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True), huge_numbers)
scalars = st.one_of(st.none(), st.booleans(), numbers, hostile_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(any_text, inner, max_size=4)),
                           max_leaves=12)

field_value = st.one_of(scalars, st.lists(scalars, max_size=3), st.just([]), st.just({}))
status_value = st.one_of(st.sampled_from(STATUSES + CONFUSABLE), hostile_text, st.none())
ids = st.one_of(st.integers(-5, 50).map(str), st.integers(0, 50), st.sampled_from(CONFUSABLE), hostile_text)


@st.composite
def agent_records(draw):
    keys = draw(st.lists(st.sampled_from(AGENT_FIELDS), unique=True, max_size=len(AGENT_FIELDS)))
    record = {key: draw(field_value) for key in keys}
    if draw(st.booleans()):  # most agents look like agents
        record.update(user_id=draw(ids), status=draw(status_value), campaign_id=draw(ids), queue_id=draw(ids))
    return record


def collection(entry):
    """A list of entries, or an object keyed by id; sometimes with stray non-object entries."""
    stray = st.one_of(scalars, st.lists(scalars, max_size=2))
    item = st.one_of(entry, entry, entry, stray)
    return st.one_of(st.lists(item, max_size=8), st.dictionaries(st.one_of(any_text, ids.map(str)), item, max_size=8))


agents_collection = st.one_of(collection(agent_records()), st.none(), scalars)
scope_entry = st.one_of(
    st.fixed_dictionaries({}, optional={"value": ids, "id": ids, "name": field_value, "label": hostile_text}),
    ids,
)
scopes_collection = st.one_of(collection(scope_entry), st.none(), scalars)
call_data = st.one_of(
    st.fixed_dictionaries({}, optional={"total_calls": field_value, "answered": field_value, "dropped": field_value}),
    st.just([]), st.none(), scalars,
)
success = st.one_of(st.just(True), st.sampled_from([False, 0, 1, "true", "false", "0", "1", "yes", None]))


@st.composite
def records(draw):
    """The fields of one level of an answer (any subset, any values)."""
    level = {}
    if draw(st.booleans()):
        level["agents"] = draw(agents_collection)
    for name in draw(st.lists(st.sampled_from(ROOT_COUNTS), unique=True)):
        level[name] = draw(field_value)
    optional = {"call_data": call_data, "campaigns": scopes_collection, "queues": scopes_collection,
                "success": success, "code": field_value, "error": field_value, "text": field_value,
                "message": field_value}
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=3)):
        level[name] = draw(optional[name])
    return level


@st.composite
def documents(draw):
    """An answer: flat (documented), or wrapped as the live service wraps it, or any JSON."""
    shape = draw(st.sampled_from(["flat", "data", "entries", "any"]))
    if shape == "any":
        return draw(json_values)
    inner = draw(records())
    if shape == "flat":
        return inner
    outer = draw(records()) if draw(st.booleans()) else {}
    if shape == "data":
        return {**outer, "data": inner}
    return {**outer, "data": {**draw(records()), "entries": inner} if draw(st.booleans()) else {"entries": inner}}


COUNT_FIELDS = ("calls_today", "total_calls", "status_time_sec")
# Counts that parse: within range, as numbers or strings, or not numbers at all.
counts = st.one_of(st.integers(0, 2**53), st.integers(0, 10**6).map(str), st.floats(0, 1e9),
                   st.sampled_from(["", "-", "abc", None, -5, "1e3", " 7 ", "inf", True, [], {}]),
                   st.sampled_from([10**400, "1" + "0" * 400]))  # out of range: refused, never rendered
texts = st.one_of(st.sampled_from(CONFUSABLE), hostile_text.filter(lambda text: len(text) < 100),
                  st.integers(0, 10**6), st.none())


@st.composite
def good_agent_records(draw):
    record = {key: draw(texts) for key in draw(st.lists(st.sampled_from(AGENT_FIELDS), unique=True))
              if key not in COUNT_FIELDS}
    record.update({key: draw(counts) for key in draw(st.lists(st.sampled_from(COUNT_FIELDS), unique=True))})
    record.update(user_id=draw(ids), status=draw(status_value))
    return record


@st.composite
def good_documents(draw):
    """Answers shaped to parse (success, agents as objects, counts in range), their text
    still hostile: for the renderer, which only ever sees what parsed."""
    agents = draw(st.lists(good_agent_records(), max_size=12))
    doc: dict = {"agents": agents if draw(st.booleans()) else {str(i): a for i, a in enumerate(agents)}}
    for name in draw(st.lists(st.sampled_from(ROOT_COUNTS), unique=True)):
        doc[name] = draw(counts)
    doc["call_data"] = draw(st.one_of(st.none(), st.just([]), st.fixed_dictionaries(
        {}, optional={"total_calls": counts, "answered": counts, "dropped": counts})))
    doc["campaigns"] = draw(scopes_collection)
    doc["queues"] = draw(scopes_collection)
    return {"success": True, "data": {"entries": doc}} if draw(st.booleans()) else doc
