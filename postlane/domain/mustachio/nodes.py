"""The parsed form of a template: a tree of frozen records, built once and rendered many
times (Mustachio builds a tree of closures the same way; this one is data, so the renderer
and the model inference walk the same thing).
"""

from __future__ import annotations

from dataclasses import dataclass

from postlane.domain.mustachio.paths import Path


@dataclass(frozen=True, slots=True)
class Text:
    """Literal template text, written out as is."""

    text: str


@dataclass(frozen=True, slots=True)
class Variable:
    """``{{ path }}`` (``escaped``) or ``{{{ path }}}`` / ``{{& path }}`` (raw)."""

    path: Path
    escaped: bool


@dataclass(frozen=True, slots=True)
class Section:
    """``{{#path}}...{{/path}}``: the body once, scoped to the value, when the value is
    truthy; ``inverted`` (``{{^path}}``): the body once, scoped to the (falsy) value, when
    it is not. A section never iterates, even over a non-empty collection.
    """

    path: Path
    inverted: bool
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Each:
    """``{{#each path}}...{{/each}}``: the body once per item, each item its own scope."""

    path: Path
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ContentSlot:
    """``{{{ @content }}}`` in a layout: where the standard template's body goes, rendered
    in the scope the slot stands in (Mustachio splices the content's tokens there)."""


Node = Text | Variable | Section | Each | ContentSlot


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template. ``has_content_slot`` tells a layout that can wrap a body."""

    nodes: tuple[Node, ...]
    has_content_slot: bool
