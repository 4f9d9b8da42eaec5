"""The model a template asks for (Mustachio/InferredTemplateModel.cs): Postmark's
``SuggestedTemplateModel`` in ``POST /templates/validate``.

Every path a template uses is recorded with how it is used: printed (scalar), opened as
a section or inverted section (conditional), or iterated by each (collection). Paths are
resolved as at parse time in Mustachio: inside a section or an each the scope is the
node of that path, so ``{{#each a}}{{b}}{{/each}}`` records ``a.b``, and ``../`` goes to
the node the current one hangs from (at the root it stays at the root).

A node's suggestion: no use of its own, or a conditional use: an object of its children;
printed only: ``"<key>_Value"``; iterated: a list holding one object of its children, or
``["<key>_1", "<key>_2", "<key>_3"]`` when it has none (``{{.}}`` in the each).
"""

from __future__ import annotations

import enum

from postlane.domain.mustachio.nodes import Each, Node, Section, Template, Text, Variable
from postlane.domain.mustachio.paths import PARENT, Path


class _Use(enum.Enum):
    SCALAR = "scalar"
    CONDITIONAL = "conditional"
    COLLECTION = "collection"


class _Inferred:
    """A node of the inferred model; the root's key is empty, as C#'s null prints."""

    __slots__ = ("children", "key", "parent", "uses")

    def __init__(self, key: str, parent: _Inferred | None) -> None:
        self.key = key
        self.parent = parent
        self.children: dict[str, _Inferred] = {}
        self.uses: set[_Use] = set()

    def used(self, path: Path, use: _Use) -> _Inferred:
        node = self
        for step in path.steps:
            if step == PARENT:
                node = node.parent if node.parent is not None else node
            else:
                child = node.children.get(step)
                if child is None:
                    child = node.children[step] = _Inferred(step, node)
                node = child
        node.uses.add(use)
        return node

    def suggestion(self) -> object:
        if self.uses == {_Use.SCALAR}:
            return f"{self.key}_Value"
        children = {key: child.suggestion() for key, child in self.children.items()}
        if _Use.COLLECTION not in self.uses:
            return children
        if children:
            return [children]
        return [f"{self.key}_{n}" for n in range(1, 4)]


def _walk(nodes: tuple[Node, ...], scope: _Inferred, content: Template | None) -> None:
    for node in nodes:
        if isinstance(node, Text):
            continue
        if isinstance(node, Variable):
            scope.used(node.path, _Use.SCALAR)
        elif isinstance(node, Section):
            _walk(node.body, scope.used(node.path, _Use.CONDITIONAL), content)
        elif isinstance(node, Each):
            _walk(node.body, scope.used(node.path, _Use.COLLECTION), content)
        elif content is not None:
            _walk(content.nodes, scope, None)


def suggested_model(*templates: Template, content: Template | None = None) -> object:
    """The model inferred from ``templates`` together (Subject, HtmlBody, TextBody share
    one root), with ``content`` standing in each layout's ``{{{ @content }}}``.

    A JSON value: an object, unless a template uses the model itself (``{{.}}`` at the
    root gives Mustachio's ``"_Value"``).
    """
    root = _Inferred("", None)
    for template in templates:
        _walk(template.nodes, root, content)
    return root.suggestion()
