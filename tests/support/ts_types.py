"""The response types postmark.js declares (its .d.ts files), read so that the conformance
tests can hold each answer the Node SDK returned to them: postmark.js does no checking of
its own at run time, and its types are what a TypeScript application compiles against.

Only what those files use is understood: ``export interface``/``export declare class`` with
``extends``, members ``Name: type`` and ``Name?: type``, inline object types, ``X[]``,
string literals and ``Hash<...>``. Anything else (enums, unions) is checked for presence only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DECL = re.compile(r"export (?:declare )?(?:interface|class) (\w+)(?:<[^>]*>)?"
                   r"(?: extends ([\w.]+)(?:<[^>]*>)?)? *\{")
_MEMBER = re.compile(r"^(\w+)(\?)?\s*:\s*(.+)$", re.DOTALL)
_PRIMITIVES: dict[str, tuple[type, ...]] = {"string": (str,), "number": (int, float),
                                            "boolean": (bool,)}


@dataclass(frozen=True)
class Member:
    name: str
    required: bool
    type: str


@dataclass(frozen=True)
class Interface:
    name: str
    parent: str | None
    members: tuple[Member, ...]


def _body(text: str, start: int) -> tuple[str, int]:
    """The text between the brace just before ``start`` and its match; the index after."""
    depth, index = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        index += 1
    return text[start:index - 1], index


def _split(body: str) -> list[str]:
    """Members separated by ';' outside braces."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == ";" and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    return [part for part in parts if part]


class TypeTable:
    """Every interface declared under a postmark.js ``dist/client/models`` directory."""

    def __init__(self, models: Path) -> None:
        self.interfaces: dict[str, Interface] = {}
        for path in sorted(models.rglob("*.d.ts")):
            self._read(path.read_text())

    def _read(self, text: str) -> None:
        for match in _DECL.finditer(text):
            body, _ = _body(text, match.end())
            self._declare(match.group(1), match.group(2), body)

    def _declare(self, name: str, parent: str | None, body: str) -> None:
        members = []
        for part in _split(body):
            found = _MEMBER.match(part)
            if found is None or "(" in found.group(1):
                continue  # a constructor or a method
            member_type = found.group(3).strip()
            if member_type.startswith("{"):  # an inline object type: a named anonymous one
                inline, after = _body(member_type, 1)
                anonymous = f"{name}.{found.group(1)}"
                self._declare(anonymous, None, inline)
                member_type = anonymous + member_type[after:].strip()
            members.append(Member(found.group(1), found.group(2) is None, member_type))
        self.interfaces[name] = Interface(name, parent.split(".")[-1] if parent else None,
                                          tuple(members))

    def members(self, name: str) -> list[Member]:
        interface = self.interfaces[name]
        inherited = self.members(interface.parent) if interface.parent else []
        return inherited + list(interface.members)

    def problems(self, value: Any, type_name: str, path: str = "$",
                 loose: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
        """Where ``value`` falls short of ``type_name``: missing required members and
        values of the wrong JSON type. ``loose`` names (interface, member) pairs whose
        declared type is known to be wrong in postmark.js, checked for presence only.
        JSON null is accepted where a value is declared: Postmark writes absent values so.
        """
        if not isinstance(value, dict):
            return [f"{path}: expected an object ({type_name}), got {value!r}"]
        found = []
        for member in self.members(type_name):
            where = f"{path}.{member.name}"
            if member.name not in value:
                if member.required:
                    found.append(f"{where}: required by {type_name}, missing")
                continue
            if (type_name, member.name) not in loose:
                found += self._check(value[member.name], member.type, where, loose)
        return found

    def _check(self, value: Any, declared: str, path: str,
               loose: frozenset[tuple[str, str]]) -> list[str]:
        if value is None:
            return []
        if declared.endswith("[]"):
            if not isinstance(value, list):
                return [f"{path}: expected a list ({declared}), got {value!r}"]
            return [problem for index, item in enumerate(value)
                    for problem in self._check(item, declared[:-2], f"{path}[{index}]", loose)]
        if declared in _PRIMITIVES:
            ok = isinstance(value, _PRIMITIVES[declared]) and (
                declared == "boolean" or not isinstance(value, bool))
            return [] if ok else [f"{path}: expected {declared}, got {value!r}"]
        if declared.startswith('"'):
            return [] if value == declared.strip('"') else [f"{path}: expected {declared}"]
        if declared.startswith("Hash<"):
            return [] if isinstance(value, dict) else [f"{path}: expected an object"]
        name = declared.split(".")[-1] if declared not in self.interfaces else declared
        if name in self.interfaces:
            return self.problems(value, name, path, loose)
        return []  # an enum, a union or an alias: presence is all that is checked
