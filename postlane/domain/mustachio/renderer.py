"""Rendering a parsed template against a model (Mustachio/Parser.cs and ContextObject.cs).

Scopes, as Mustachio keeps them: every path is looked up in the current scope only; a key
that is not there renders empty (there is no search up the stack, as Mustache does). A
step ``../`` goes to the scope the current one was reached from, and at the root it stays
at the root. The scope a path reaches remembers each step it took, so inside
``{{#a.b}}`` the parent (``../``) is ``a``, and inside ``{{#each list}}`` an item's parent
is the list itself: the scope around the each is ``../../``.
"""

from __future__ import annotations

from collections.abc import Mapping

from postlane.domain.mustachio.errors import TemplateRenderError
from postlane.domain.mustachio.nodes import (
    Each,
    Node,
    Section,
    Template,
    Text,
    Variable,
)
from postlane.domain.mustachio.paths import PARENT, Path
from postlane.domain.mustachio.values import exists, html_encode, to_text


class _Scope:
    """A value and the scope it was reached from (Mustachio's ContextObject)."""

    __slots__ = ("parent", "value")

    def __init__(self, value: object, parent: _Scope | None) -> None:
        self.value = value
        self.parent = parent


def _get(value: object, key: str) -> object:
    if type(value) is dict or isinstance(value, Mapping):
        return value.get(key)
    return None


def _scope_for(scope: _Scope, path: Path) -> _Scope:
    for step in path.steps:
        if step == PARENT:
            if scope.parent is not None:
                scope = scope.parent
        else:
            scope = _Scope(_get(scope.value, step), scope)
    return scope


def _value_for(scope: _Scope, path: Path) -> object:
    keys = path.keys
    if keys is None:
        return _scope_for(scope, path).value
    for _ in range(path.ups):
        if scope.parent is not None:
            scope = scope.parent
    value = scope.value
    for key in keys:
        value = _get(value, key)
    return value


class _Renderer:
    __slots__ = ("content", "escape", "out")

    def __init__(self, escape: bool, content: Template | None) -> None:
        self.escape = escape
        self.content = content
        self.out: list[str] = []

    def nodes(self, nodes: tuple[Node, ...], scope: _Scope) -> None:
        out = self.out
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Variable):
                self.variable(node, scope)
            elif isinstance(node, Section):
                self.section(node, scope)
            elif isinstance(node, Each):
                self.each(node, scope)
            elif self.content is not None:
                self.nodes(self.content.nodes, scope)

    def variable(self, node: Variable, scope: _Scope) -> None:
        value = _value_for(scope, node.path)
        if value is not None:
            text = value if type(value) is str else to_text(value)
            self.out.append(html_encode(text) if node.escaped and self.escape else text)

    def section(self, node: Section, scope: _Scope) -> None:
        inner = _scope_for(scope, node.path)
        if exists(inner.value) is not node.inverted:
            self.nodes(node.body, inner)

    def each(self, node: Each, scope: _Scope) -> None:
        collection = _scope_for(scope, node.path)
        items = collection.value
        if not exists(items):
            return
        if not isinstance(items, (list, tuple)):
            raise TemplateRenderError(node.path.text)
        for item in items:
            self.nodes(node.body, _Scope(item, collection))


def render(template: Template, model: object, *, escape_html: bool = True) -> str:
    """``template`` filled from ``model`` (a JSON value, normally an object).

    ``escape_html`` False renders ``{{ x }}`` like ``{{{ x }}}`` (Mustachio's
    DisableContentSafety, meant for text bodies and subjects). A layout's content slot
    renders empty here; use render_with_layout. Raises TemplateRenderError when an each
    meets a value that is truthy but not a list.
    """
    renderer = _Renderer(escape_html, None)
    renderer.nodes(template.nodes, _Scope(model, None))
    return "".join(renderer.out)


def render_with_layout(
    layout: Template, content: Template, model: object, *, escape_html: bool = True
) -> str:
    """``content`` rendered in its ``layout``: the layout, with the content's body at each
    ``{{{ @content }}}`` in the scope the slot stands in, from one model."""
    renderer = _Renderer(escape_html, content)
    renderer.nodes(layout.nodes, _Scope(model, None))
    return "".join(renderer.out)
