"""What a template can do wrong, in Mustachio's own words.

Mustachio (ActiveCampaign/mustachio, MIT) collects every problem of a template before it
refuses it, each with a 1-based line and character, and Postmark's ``/templates/validate``
answers with that list; so a syntax error here is a list of issues, not the first one.

The wording is Mustachio's as its exceptions print it. Its ``IndexedParseException`` runs
``String.Format`` over the message twice (once itself, once in ``ParseException``), so a
``{{{{`` written in its source comes out as a single brace: ``'{#each <name>}'``.
"""

from __future__ import annotations

from dataclasses import dataclass

EACH_WITHOUT_PATH = (
    "The 'each' block being opened requires a model path to be specified in the form "
    "'{#each <name>}'."
)
EACH_CLOSE_SYNTAX = "The syntax to close the 'each' block should be: '{/each}'."
EACH_CLOSE_WITHOUT_OPEN = (
    "An 'each' block is being closed, but no corresponding opening element "
    "('{#each <name>}') was detected."
)
MISMATCHED = "It appears that open and closing elements are mismatched."
UNCLOSED = (
    "A scope block to the following path was opened but not closed: '{}', please close it "
    "using the appropriate syntax."
)
INVALID_PATH = "The path '{}' is not valid. Please see documentation for examples of valid paths."
NOT_A_COLLECTION = (
    "'{}' is used like an array by the template, but is a scalar value or object in your model."
)


@dataclass(frozen=True, slots=True)
class SyntaxIssue:
    """One problem of a template: Mustachio's message and where the tag starts.

    ``line`` and ``column`` count from 1; the column counts UTF-16 code units, as .NET
    does, so a position reported by Postmark for the same text is the same here.
    """

    message: str
    line: int
    column: int


class TemplateSyntaxError(ValueError):
    """Mustachio refuses the template; ``issues`` holds all its problems in text order.

    ``message``, ``line`` and ``column`` are those of the first issue, for callers that
    show one.
    """

    def __init__(self, issues: tuple[SyntaxIssue, ...]) -> None:
        if not issues:
            raise ValueError("a syntax error has at least one issue")
        self.issues = issues
        first = issues[0]
        self.message = first.message
        self.line = first.line
        self.column = first.column
        super().__init__(f"{first.message} (line {first.line}, character {first.column})")


class TemplateRenderError(ValueError):
    """A well-formed template meets a model it cannot render (Postmark's
    TemplateRenderingFailed): ``{{#each x}}`` where ``x`` is a string, number or object.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(NOT_A_COLLECTION.format(path))
