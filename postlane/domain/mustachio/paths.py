"""Model paths (``a.b.c``, ``../x``, ``.``): which Mustachio accepts, and their steps.

Mustachio checks each tag's path against one "negative" regular expression and refuses
the template if it matches: three or more dots in a row, a character other than a word
character, ``.``, ``/`` or ``_``, a ``/`` not preceded by ``..``, or ``..`` not followed by
``/``. Its word characters are .NET's ``\\w`` (Unicode letters, non-spacing marks, decimal
digits, connector punctuation), which differs from Python's ``\\w`` (that one takes ``²``
and refuses combining accents); the character test is therefore spelt out here.

A valid path splits into steps the way Mustachio's ``ContextObject`` splits it: each
``../`` is a step up, every run of characters between dots is a key; ``.`` (and the empty
path) has no steps and names the current scope itself. ``this`` is an ordinary key.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: The characters .NET's String.Trim() removes (Char.IsWhiteSpace); Python's str.strip()
#: would also remove U+001C..U+001F.
NET_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Nd", "Pc"})
#: Mustachio's negative path spec without its character class (checked apart, above).
_BAD_DOTS = re.compile(r"([.]{3,})|((?<![.]{2})[/])|([.]{2,}($|[^/]))", re.DOTALL)
_STEP = re.compile(r"(\.\.[\\/])|([^.]+)")
#: The step that goes up one scope.
PARENT = "../"


def net_strip(text: str) -> str:
    """String.Trim() as .NET does it."""
    return text.strip(NET_WHITESPACE)


def _path_char(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char in "._/"
    return unicodedata.category(char) in _WORD_CATEGORIES


def is_valid(path: str) -> bool:
    """Whether Mustachio accepts ``path`` (already trimmed) in a tag."""
    return all(_path_char(c) for c in path) and _BAD_DOTS.search(path) is None


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed model path: its text as written in the tag and its steps.

    ``keys`` is set when the path is only ``ups`` steps up followed by keys (nearly every
    real path), so the renderer can resolve it without building scopes.
    """

    text: str
    steps: tuple[str, ...]
    ups: int
    keys: tuple[str, ...] | None


def split(path: str) -> Path:
    """The steps of a valid path: ``../`` for each step up, the keys between the dots."""
    steps = tuple(PARENT if m.group(1) else m.group(0) for m in _STEP.finditer(path))
    ups = 0
    while ups < len(steps) and steps[ups] == PARENT:
        ups += 1
    rest = steps[ups:]
    keys = None if PARENT in rest else rest
    return Path(path, steps, ups, keys)
