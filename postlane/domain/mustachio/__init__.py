"""Mustachio, Postmark's template language, in pure Python (a port of
ActiveCampaign/mustachio, MIT: its tokenizer, parser, ContextObject and inferred model).

The API (stable; the templates API and the sender call it)::

    parse(text, *, layout=False) -> Template          # raises TemplateSyntaxError
    render(template, model, *, escape_html=True) -> str       # raises TemplateRenderError
    render_with_layout(layout, content, model, *, escape_html=True) -> str
    suggested_model(*templates, content=None) -> object       # SuggestedTemplateModel

Parse once, render many: a Template is an immutable tree. TemplateSyntaxError carries
``issues`` (message, line, column: every problem, Mustachio's wording) and the first one
as ``message``/``line``/``column``. Postmark renders the HtmlBody escaped and the TextBody
and Subject with ``escape_html=False`` (Mustachio's DisableContentSafety, documented for
"text bodies and subjects in emails"). A Layout is parsed with ``layout=True``; its
``has_content_slot`` says whether it holds ``{{{ @content }}}``.

The language, as Mustachio implements it:

- ``{{ a.b }}`` HTML-escaped; ``{{{ a.b }}}`` and ``{{& a.b }}`` raw; ``{{! ... }}`` a
  comment; ``{{.}}`` the current scope itself (``this`` is an ordinary key).
- ``{{#x}}...{{/x}}`` renders once, scoped to ``x``, when ``x`` is truthy (it does not
  iterate a list); ``{{^x}}...{{/x}}`` once, scoped to ``x``, when it is not;
  ``{{#x}}a{{^x}}b{{/x}}`` is an if/else. Falsy: null, false, 0, "", [] and {}.
- ``{{#each x}}...{{/each}}`` once per item of a list, the item the scope; a truthy ``x``
  that is not a list fails the render.
- Paths resolve in the current scope only (a missing key renders empty); ``../`` climbs
  the steps that led here: from an each's item, ``../`` is the list, ``../../`` the scope
  around the each.
"""

from __future__ import annotations

from postlane.domain.mustachio.errors import SyntaxIssue, TemplateRenderError, TemplateSyntaxError
from postlane.domain.mustachio.inference import suggested_model
from postlane.domain.mustachio.nodes import Template
from postlane.domain.mustachio.parser import parse
from postlane.domain.mustachio.renderer import render, render_with_layout

__all__ = [
    "SyntaxIssue",
    "Template",
    "TemplateRenderError",
    "TemplateSyntaxError",
    "parse",
    "render",
    "render_with_layout",
    "suggested_model",
]
