"""Mustachio's lexer, ported rule for rule (Mustachio/Tokenizer.cs).

A tag is ``{{`` + one or more characters that are not braces + ``}}``, or the same with
three braces; anything else (a lone ``{``, ``{{{{name}}``'s first two braces, a brace
inside a tag) is literal text. Each tag is classified by how it starts, in Mustachio's
order: ``{{#each``, ``{{/each``, ``{{#``, ``{{^``, ``{{/``, the layout's ``{{{ @content }}}``,
``{{{`` / ``{{&``, ``{{!``, and otherwise an escaped value.

Sections are tracked on a stack of open names. Two of Mustachio's rules that a Mustache
user would not expect are kept: ``{{#x}}`` or ``{{^x}}`` while ``x`` is the innermost open
section closes it and opens the new one (so ``{{#x}}a{{^x}}b{{/x}}`` is an if/else), and
the close of an each is exactly ``{{/each}}`` (``{{/each }}`` is refused).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from postlane.domain.mustachio import errors
from postlane.domain.mustachio.errors import SyntaxIssue
from postlane.domain.mustachio.paths import is_valid, net_strip

_TAG = re.compile(r"(\{\{[^{}]+?\}\})|(\{\{\{[^{}]+?\}\}\})")
#: Postmark's layout placeholder; postmark.js's own tests write it ``{{{@content}}}``.
_CONTENT_SLOT = re.compile(r"\{\{\{\s*@content\s*\}\}\}")


class Kind(enum.Enum):
    CONTENT = "content"
    ESCAPED = "escaped"
    RAW = "raw"
    SECTION = "section"
    INVERTED = "inverted"
    EACH = "each"
    CLOSE = "close"
    SLOT = "slot"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str


class _Lexer:
    """One pass over one template: the tokens, the issues and the open sections."""

    def __init__(self, text: str, layout: bool) -> None:
        self.text = text
        self.layout = layout
        self.tokens: list[Token] = []
        self.issues: list[tuple[int, str]] = []
        #: Open sections: (the section's name, or an each's whole tag; where it starts).
        self.stack: list[tuple[str, int]] = []

    def issue(self, at: int, message: str) -> None:
        self.issues.append((at, message))

    def validated(self, token: str, at: int) -> str:
        token = net_strip(token)
        if not is_valid(token):
            self.issue(at, errors.INVALID_PATH.format(token))
        return token

    def tag(self, tag: str, at: int) -> None:
        if tag.startswith("{{#each"):
            self.open_each(tag, at)
        elif tag.startswith("{{/each"):
            self.close_each(tag, at)
        elif tag.startswith(("{{#", "{{^")):
            self.open_section(tag, at)
        elif tag.startswith("{{/"):
            self.close_section(tag, at)
        elif self.layout and _CONTENT_SLOT.fullmatch(tag):
            self.tokens.append(Token(Kind.SLOT, ""))
        elif tag.startswith(("{{{", "{{&")):
            inner = net_strip(_inner(tag).lstrip("&"))
            self.tokens.append(Token(Kind.RAW, self.validated(inner, at)))
        elif not tag.startswith("{{!"):
            self.tokens.append(Token(Kind.ESCAPED, self.validated(net_strip(_inner(tag)), at)))

    def open_each(self, tag: str, at: int) -> None:
        self.stack.append((tag, at))
        token = net_strip(_inner(tag).lstrip("#"))[4:]
        if token.startswith(" ") and net_strip(token):
            self.tokens.append(Token(Kind.EACH, net_strip(self.validated(token, at))))
        else:
            self.issue(at, errors.EACH_WITHOUT_PATH)

    def close_each(self, tag: str, at: int) -> None:
        if tag != "{{/each}}":
            self.issue(at, errors.EACH_CLOSE_SYNTAX)
        elif self.stack and self.stack[-1][0].startswith("{{#each"):
            self.stack.pop()
            self.tokens.append(Token(Kind.CLOSE, "each"))
        else:
            self.issue(at, errors.EACH_CLOSE_WITHOUT_OPEN)

    def open_section(self, tag: str, at: int) -> None:
        kind = Kind.SECTION if tag[2] == "#" else Kind.INVERTED
        token = net_strip(_inner(tag).lstrip(tag[2]))
        if self.stack and self.stack[-1][0] == token:
            self.tokens.append(Token(Kind.CLOSE, self.validated(token, at)))
        else:
            self.stack.append((token, at))
        self.tokens.append(Token(kind, self.validated(token, at)))

    def close_section(self, tag: str, at: int) -> None:
        token = net_strip(_inner(tag).lstrip("/"))
        if self.stack and self.stack[-1][0] == token:
            self.stack.pop()
            self.tokens.append(Token(Kind.CLOSE, self.validated(token, at)))
        else:
            self.issue(at, errors.MISMATCHED)

    def unclosed(self) -> None:
        for name, at in self.stack:
            scope = name.strip("{#}")
            scope = scope.removeprefix("each ")
            self.issue(at, errors.UNCLOSED.format(scope))


def _inner(tag: str) -> str:
    return tag.lstrip("{").rstrip("}")


def tokenize(text: str, *, layout: bool = False) -> tuple[list[Token], list[SyntaxIssue]]:
    """The tokens of ``text`` and its issues, sorted by position (Mustachio's order).

    With ``layout``, ``{{{ @content }}}`` is the content slot; elsewhere it is what
    Mustachio makes of it, a value with the invalid path ``@content``.
    """
    lexer = _Lexer(text, layout)
    position = 0
    for match in _TAG.finditer(text):
        if match.start() > position:
            lexer.tokens.append(Token(Kind.CONTENT, text[position:match.start()]))
        lexer.tag(match.group(0), match.start())
        position = match.end()
    if position < len(text):
        lexer.tokens.append(Token(Kind.CONTENT, text[position:]))
    lexer.unclosed()
    issues = [_located(text, at, message) for at, message in lexer.issues]
    issues.sort(key=lambda issue: (issue.line, issue.column))
    return lexer.tokens, issues


def _located(text: str, at: int, message: str) -> SyntaxIssue:
    """1-based line (counting ``\\n``) and character (UTF-16 code units) of ``at``."""
    line_start = text.rfind("\n", 0, at) + 1
    before = text[line_start:at]
    column = len(before) + sum(1 for c in before if ord(c) > 0xFFFF) + 1
    return SyntaxIssue(message, text.count("\n", 0, at) + 1, column)
