"""From Mustachio's tokens to the template tree (Mustachio/Parser.cs, its Parse loop).

The tokenizer has already refused any template whose sections do not nest, so the tree is
built by plain recursion: a section's body runs to the next close token.
"""

from __future__ import annotations

from collections.abc import Iterator

from postlane.domain.mustachio.errors import TemplateSyntaxError
from postlane.domain.mustachio.nodes import (
    ContentSlot,
    Each,
    Node,
    Section,
    Template,
    Text,
    Variable,
)
from postlane.domain.mustachio.paths import split
from postlane.domain.mustachio.tokenizer import Kind, Token, tokenize


def parse(text: str, *, layout: bool = False) -> Template:
    """Parse ``text`` once; render the result as often as needed.

    ``layout`` parses a Layout template, where ``{{{ @content }}}`` marks the place of the
    standard template's body. Raises TemplateSyntaxError with every issue Mustachio finds.
    """
    tokens, issues = tokenize(text, layout=layout)
    if issues:
        raise TemplateSyntaxError(tuple(issues))
    nodes = _block(iter(tokens))
    return Template(nodes, any(token.kind is Kind.SLOT for token in tokens))


def _block(tokens: Iterator[Token]) -> tuple[Node, ...]:
    nodes: list[Node] = []
    for token in tokens:
        kind = token.kind
        if kind is Kind.CLOSE:
            break
        if kind is Kind.CONTENT:
            nodes.append(Text(token.value))
        elif kind is Kind.ESCAPED or kind is Kind.RAW:
            nodes.append(Variable(split(token.value), kind is Kind.ESCAPED))
        elif kind is Kind.EACH:
            nodes.append(Each(split(token.value), _block(tokens)))
        elif kind is Kind.SLOT:
            nodes.append(ContentSlot())
        else:
            nodes.append(Section(split(token.value), kind is Kind.INVERTED, _block(tokens)))
    return tuple(nodes)
