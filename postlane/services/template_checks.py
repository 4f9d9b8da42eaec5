"""POST /templates/validate: each part parsed and test-rendered on its own, so a client
sees every problem of every part at once (Postmark's ValidationErrors), and the model the
parts use together (SuggestedTemplateModel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import css_inline

from postlane.domain import mustachio
from postlane.services.templates import LAYOUT, TemplateFields, template_type
from postlane.store import Transaction
from postlane.store import templates as store


@dataclass(frozen=True, slots=True)
class Part:
    valid: bool
    errors: tuple[mustachio.SyntaxIssue, ...]
    rendered: str | None


def _part(text: str | None, *, layout: bool, wrap: mustachio.Template | None,
          model: object, escape: bool) -> tuple[Part, mustachio.Template | None]:
    if text is None:
        return Part(True, (), None), None
    try:
        parsed = mustachio.parse(text, layout=layout)
    except mustachio.TemplateSyntaxError as exc:
        return Part(False, exc.issues, None), None
    if layout and not parsed.has_content_slot:
        issue = mustachio.SyntaxIssue("A layout must contain the {{{ @content }}} placeholder.",
                                      1, 1)
        return Part(False, (issue,), None), parsed
    try:
        rendered = (mustachio.render_with_layout(wrap, parsed, model, escape_html=escape)
                    if wrap is not None else mustachio.render(parsed, model, escape_html=escape))
    except mustachio.TemplateRenderError as exc:
        return Part(False, (mustachio.SyntaxIssue(str(exc), 1, 1),), None), parsed
    return Part(True, (), rendered), parsed


def inline_css(html: str) -> str:
    """Postmark's InlineCss: the HTML's <style> rules moved into style attributes (clients
    such as Gmail drop <style> blocks). HTML without a <style> block, or that it cannot
    process, is left exactly as rendered (the inliner would rewrite it as a whole
    document)."""
    if "<style" not in html.lower():
        return html
    try:
        return str(css_inline.inline(html, load_remote_stylesheets=False))
    except (ValueError, css_inline.InlineError):
        return html


def _layout_part(conn: Transaction, server_id: int, alias: str | None,
                 html: bool) -> mustachio.Template | None:
    if not alias:
        return None
    found = store.get(conn, server_id, alias)
    if found is None or found.template_type != LAYOUT:
        return None
    text = found.html_body if html else found.text_body
    try:
        return mustachio.parse(text, layout=True) if text else None
    except mustachio.TemplateSyntaxError:
        return None


def validate(conn: Transaction, server_id: int, fields: TemplateFields,
             model: object, inline: bool = True) -> dict[str, Any]:
    """The validate endpoint's answer (Postmark's field names)."""
    is_layout = template_type(fields.template_type) == LAYOUT
    model = model if model is not None else {}
    html_layout = None if is_layout else _layout_part(conn, server_id, fields.layout_template,
                                                      True)
    text_layout = None if is_layout else _layout_part(conn, server_id, fields.layout_template,
                                                      False)
    subject, subject_t = _part(None if is_layout else fields.subject, layout=False, wrap=None,
                               model=model, escape=False)
    html, html_t = _part(fields.html_body, layout=is_layout, wrap=html_layout, model=model,
                         escape=True)
    text, text_t = _part(fields.text_body, layout=is_layout, wrap=text_layout, model=model,
                         escape=False)
    if inline and html.rendered is not None:
        html = Part(html.valid, html.errors, inline_css(html.rendered))
    parsed = [t for t in (subject_t, html_t, text_t) if t is not None]
    suggestion = mustachio.suggested_model(*parsed) if parsed else {}
    parts = {"Subject": subject, "HtmlBody": html, "TextBody": text}
    out: dict[str, Any] = {"AllContentIsValid": all(p.valid for p in parts.values())}
    for key, part in parts.items():
        out[key] = {"ContentIsValid": part.valid,
                    "ValidationErrors": [{"Message": i.message, "Line": i.line,
                                          "CharacterPosition": i.column} for i in part.errors],
                    "RenderedContent": part.rendered}
    out["SuggestedTemplateModel"] = suggestion
    return out
