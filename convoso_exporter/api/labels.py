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
- at most MAX_LABEL_CHARS characters (values cut to it that become equal are one).

`LabelText` is made per answer and remembers what it normalised: statuses, campaign ids
and skills repeat thousands of times in one answer. Its `text`, `ident` and `skills` are
the field converters of `api/fields.py` with the normalisation built in: they run for
every text field of every agent, and a short ASCII value (nearly all of them) costs one
length and one ASCII check more than before.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from convoso_exporter.api.fields import EMPTY_ID, EMPTY_TEXT, number_text, to_skills
from convoso_exporter.api.limits import MAX_LABEL_CHARS

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def valid_text(text: str) -> str:
    """`text` with lone surrogates replaced: encodable as UTF-8 (for messages, logs)."""
    return text if text.isascii() else _SURROGATE.sub(REPLACEMENT, text)


class LabelText:
    """Normalises the text values of one answer (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self._skills: dict[tuple[str, ...], tuple[str, ...]] = {}
        # `text` and `ident` are closures: they run for every text field of every agent,
        # and a closure's variables are cheaper to reach than attributes.
        fast = MAX_LABEL_CHARS + 1  # a value shorter than this, and ASCII, is kept as it is
        slow = self.__call__

        def text(value: Any) -> str | None:
            """`fields.to_text`, normalised: free text; "" and "-" mean not sent."""
            if type(value) is str:
                if value.strip() in EMPTY_TEXT:
                    return None
                return value if len(value) < fast and value.isascii() else slow(value)
            return number_text(value)

        def ident(value: Any) -> str | None:
            """`fields.to_ident`, normalised: an id; "", "-", "0" and 0 mean not sent."""
            if type(value) is str:
                if value.strip() in EMPTY_ID:
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
            text = unicodedata.normalize("NFC", _SURROGATE.sub(REPLACEMENT, text))
        if len(text) > MAX_LABEL_CHARS:
            text = text[:MAX_LABEL_CHARS]
            if not text.isascii():
                text = unicodedata.normalize("NFC", text)  # a cut may split a combining sequence
        return text
