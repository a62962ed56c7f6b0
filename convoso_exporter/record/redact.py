"""Redaction of a recording (`check --record`, on unless `--no-redact`): a copy safe to
hand over, with the shape, the types and every count of what the API sent.

What it replaces, in every answer of the recording (JSON rewritten value by value,
record/jsonscan.py; any other body as text):
- agents' names (`user_full_name`, `full_name`, `first_name`, `last_name`,
  `agent_name`, and `name` outside the campaign, queue and list collections) become
  `Agent 0001`, `Agent 0002`, ..., one per person for the whole recording (the same
  name in every answer and every spelling: case, accents, spacing, "Last, First"); a
  known name met in any other text is replaced by the same pseudonym;
- phone numbers: fields named for them (`phone`, `caller_id`, `ani`, `dnis`, ...) and
  anything written like one in other text (`+44 20 7946 0958`, `(305) 555-0142`,
  `305.555.0142`, `3055550142`): the digits masked, one mask per number (its last ten
  digits), the punctuation kept;
- lead ids (`lead_id` and fields like it): masked digits of the same length, one mask
  per lead; the empty forms (`"0"`, `""`, `"-"`) stay;
- e-mail addresses (also `%40`, ` [at] `) become `user0001@example.invalid`;
- the auth token in every form it takes in a URL, anything that looks like a token (24
  or more letters, digits, `-_+/=` mixing letters and digits), values after `token=`,
  `password:`, `Bearer`, and whole values of fields named for secrets.
What it keeps: every number (but the masked ones), every id the exporter uses (fields
ending in `_id`/`_ids`, `status`, `value`, collections' keys: user, campaign and queue
ids), campaign and queue names (but what they hold of the above), timestamps.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable

from convoso_exporter.api.errors import REDACTED, secret_forms
from convoso_exporter.record.jsonscan import Place, rewrite

NAME_KEYS = frozenset({
    "user_full_name", "full_name", "first_name", "last_name", "agent_name", "agent_full_name", "name",
})
# `name` in these collections names a campaign, queue or list, not a person.
SCOPE_KEYS = frozenset({"campaigns", "queues", "lists", "campaign", "queue", "list"})
PHONE_PARTS = frozenset({
    "phone", "phones", "ani", "dnis", "caller", "callerid", "mobile", "cell", "telephone", "msisdn", "dialed",
})
SECRET_PARTS = frozenset({"token", "secret", "password", "passwd", "apikey", "key", "session", "auth"})
ID_KEYS = frozenset({"status", "value", "code", "success"})
# The API's counts: kept as written whatever they look like.
COUNT_KEYS = frozenset({
    "calls_today", "total_calls", "status_time_sec", "agent_total", "agent_incall", "agent_ready", "agent_paused",
    "queue_dialable_leads", "queue_calls_today", "queue_dropped", "queue_answered", "answered", "dropped",
    "available_agents", "logged_in_agents", "total", "calls", "human_answered", "am", "others",
})
EMPTY = frozenset({"", "-", "0", "null", "none", "n/a"})
# What a field's values get (`rule_for`).
KEEP, NAME, LEAD, PHONE, SECRET, TEXT = "keep", "name", "lead", "phone", "secret", "text"

# A word of a name: letters and digits, with the apostrophes of O'Neil (and of a possessive).
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_POSSESSIVE = re.compile(r"['’]s$")
_EMAIL = re.compile(r"[\w.%+\-]+(?:@|%40|\s*\[at\]\s*|\s*\(at\)\s*)[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d[\d \t().\-]{6,}\d|(?:1[ .\-]?)?\(?\d{3}\)?[ .\-]?\d{3}[ .\-]?\d{4})(?![\w])"
)
_TOKEN_LIKE = re.compile(r"(?<![\w\-+/=])(?=[\w\-+/=]*\d)(?=[\w\-+/=]*[A-Za-z])[\w\-+/=]{24,}(?![\w\-+/=])", re.ASCII)
_SECRET_AFTER = re.compile(
    r"(?i)(\b(?:auth_token|access_token|api_key|apikey|token|password|passwd|secret)\b\"?\s*[=:]\s*\"?|\bbearer\s+)"
    r"([^\s\"&,;]+)"
)


def fold(word: str) -> str:
    """A word as names are compared: case and accents left out."""
    decomposed = unicodedata.normalize("NFKD", word)
    return _POSSESSIVE.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)).casefold())


class Redactor:
    """One recording's redaction: `learn` every body first (the names), then `redact`
    each; pseudonyms and masks are the same across the whole recording."""

    def __init__(self, token: str | None = None) -> None:
        self._token_forms = secret_forms(token) if token else ()
        self._people: dict[tuple[str, ...] | str, str] = {}  # a name's words (or itself) -> pseudonym
        self._spellings: dict[tuple[str, ...], str] = {}  # word sequences that name someone -> pseudonym
        self._longest = 0
        self._masks: dict[str, dict[str, str]] = {}  # kind -> original -> replacement
        self._cache: dict[tuple[str, str], str] = {}  # (rule, value) -> result
        self._rules: dict[str | None, str] = {}  # field name -> rule
        self.replaced: Counter[str] = Counter()  # kind -> distinct values replaced

    # --- pass 1: who is named ------------------------------------------------------

    def learn(self, body: bytes) -> None:
        """Register the people a body names (JSON only: elsewhere no field says so)."""
        text = _text(body)
        if text is not None:
            rewrite(text, self._learn_string, lambda token, place: None)

    def _learn_string(self, value: str, place: Place) -> None:
        if not place.is_key and self._rule(place) == NAME and value.strip().lower() not in EMPTY:
            self._pseudonym(value)
        return None

    def _pseudonym(self, name: str) -> str:
        words = tuple(fold(w) for w in _WORD.findall(name))
        key = words or name
        alias = self._people.get(key)
        if alias is None:
            alias = self._people[key] = f"Agent {len(self._people) + 1:04d}"
            self.replaced["names"] += 1
            self._cache.clear()  # a text read before may hold this name
            for spelling in _spellings(words):
                self._spellings.setdefault(spelling, alias)
                self._longest = max(self._longest, len(spelling))
        return alias

    # --- pass 2: the copy -----------------------------------------------------------

    def redact(self, body: bytes) -> bytes:
        """The body redacted: JSON value by value, anything else as text."""
        text = _text(body)
        if text is not None:
            out = rewrite(text, self._string, self._number)
            if out is not None:
                return out.encode()
        raw = body.decode("utf-8", "surrogateescape")
        return self.text(raw).encode("utf-8", "surrogateescape")

    def text(self, value: str) -> str:
        """Free text: every rule but the field-named ones."""
        return self._cached("text", value, self._scrub)

    def _string(self, value: str, place: Place) -> str | None:
        rule = KEEP if place.is_key else self._rule(place)
        if rule == KEEP:
            new = self._exact_token(value)
        elif value.strip().lower() in EMPTY:
            return None
        elif rule == NAME:
            new = self._pseudonym(value)
        elif rule == LEAD:
            new = self._cached("lead", value, lambda v: _DIGITS.sub(lambda m: self._mask("lead", m.group()), v))
        elif rule == SECRET:
            new = REDACTED
        elif rule == PHONE:
            new = self._cached("phone", value, self._mask_phones_anywhere)
        else:
            new = self.text(value)
        return None if new == value else new

    def _rule(self, place: Place) -> str:
        """What a value of this field is, by its name (and, for `name`, where it stands)."""
        rule = self._rules.get(place.key)
        if rule is None:
            rule = self._rules[place.key] = rule_for(place.key or "")
        if rule == NAME and place.key and place.key.lower() == "name" and any(
                (p or "").lower() in SCOPE_KEYS for p in place.path):
            return TEXT  # a campaign's, a queue's or a list's name
        return rule

    def _number(self, token: str, place: Place) -> str | None:
        if not token.isdigit() or token == "0":
            return None
        rule = self._rule(place)
        if rule == LEAD:
            return self._mask("lead", token)
        if rule == PHONE and len(token) >= 7:
            return self._phone(token)
        return None

    def _scrub(self, value: str) -> str:
        value = self._exact_token(value)
        value = _SECRET_AFTER.sub(lambda m: m.group(1) + REDACTED, value)
        value = _EMAIL.sub(lambda m: self._replacement("emails", _address(m.group()), "user{:04d}@example.invalid"),
                           value)
        value = _TOKEN_LIKE.sub(lambda m: self._replacement("tokens", m.group(), "<token-{:04d}>"), value)
        value = _PHONE.sub(lambda m: self._phone(m.group()), value)
        return self._names_in(value)

    def _exact_token(self, value: str) -> str:
        for form in self._token_forms:
            if form in value:
                value = value.replace(form, REDACTED)
        return value

    def _names_in(self, value: str) -> str:
        """Known names in free text, in any spelling `_spellings` lists."""
        if not self._spellings:
            return value
        words = list(_WORD.finditer(value))
        folded = [fold(w.group()) for w in words]
        out, done, i = [], 0, 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                alias = self._spellings.get(tuple(folded[i:i + n]))
                if alias is not None:
                    out += (value[done:words[i].start()], alias)
                    done, i = words[i + n - 1].end(), i + n
                    break
            else:
                i += 1
        return "".join(out) + value[done:] if out else value

    def _mask_phones_anywhere(self, value: str) -> str:
        return _DIGIT_RUNS.sub(lambda m: self._phone(m.group()), value) if _count_digits(value) >= 7 else value

    def _phone(self, text: str) -> str:
        """A phone number with its last ten digits masked (one mask per number), the rest as written."""
        digits = "".join(_DIGITS.findall(text))
        if len(digits) < 7:
            return text
        tail = digits[-10:]
        masked = iter(digits[:-10] + self._mask("phone", tail))
        return _DIGIT.sub(lambda m: next(masked), text)

    def _mask(self, kind: str, digits: str) -> str:
        """Digits of the same length (the first not 0), one set per original."""
        masks = self._masks.setdefault(kind, {})
        mask = masks.get(digits)
        if mask is None:
            number = len(masks) + 1
            width = len(digits)
            mask = str(10 ** (width - 1) + number) if width > 1 and number < 9 * 10 ** (width - 1) else str(number)
            masks[digits] = mask
            self.replaced[kind + "s"] += 1
        return mask

    def _replacement(self, kind: str, original: str, pattern: str) -> str:
        masks = self._masks.setdefault(kind, {})
        if original not in masks:
            masks[original] = pattern.format(len(masks) + 1)
            self.replaced[kind] += 1
        return masks[original]

    def _cached(self, rule: str, value: str, how: Callable[[str], str]) -> str:
        key = (rule, value)
        result = self._cache.get(key)
        if result is None:
            if len(self._cache) >= 100_000:  # distinct texts are few; ids and times are many
                self._cache.clear()
            result = self._cache[key] = how(value)
        return result


_AT = re.compile(r"%40|\s*\[at\]\s*|\s*\(at\)\s*", re.IGNORECASE)
_DIGIT = re.compile(r"\d", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)
_DIGIT_RUNS = re.compile(r"\+?\d[\d \t().\-]*\d", re.ASCII)


def _address(text: str) -> str:
    """An e-mail address however it was spelled: one mask per address."""
    return fold(_AT.sub("@", text))


def _count_digits(value: str) -> int:
    return sum(c.isdigit() for c in value)


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def rule_for(key: str) -> str:
    """The rule for a field's values, by its name."""
    lower = key.lower()
    parts = frozenset(lower.replace("-", "_").split("_"))
    if parts & PHONE_PARTS:
        return PHONE
    if "lead" in parts and parts & {"id", "ids"}:
        return LEAD
    if lower in COUNT_KEYS or lower in ID_KEYS or lower == "id" or lower.endswith(("_id", "_ids")):
        return KEEP
    if lower in NAME_KEYS:
        return NAME
    if parts & SECRET_PARTS:
        return SECRET
    return TEXT


def _spellings(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The word sequences that name the same person: as written, last name first,
    first and last without the middle, run together."""
    if not words:
        return []
    found = [words]
    if len(words) >= 2:
        found += [tuple(reversed(words)), ("".join(words),)]
    if len(words) >= 3:
        found += [(words[0], words[-1]), (words[-1], words[0])]
    # A single short word would mask every "al" or "jo" in other text.
    return [s for s in found if len(s) > 1 or len(s[0]) >= 3]
