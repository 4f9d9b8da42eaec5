"""Sending with a template (POST /email/withTemplate, /email/batchWithTemplates): the
server's Standard template, found by TemplateId or TemplateAlias, rendered with the
request's TemplateModel inside its Layout, the HTML's CSS inlined when InlineCss (the
default). What comes out is an ordinary message's Subject, HtmlBody and TextBody: every
rule of /email applies to it after this."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from postlane.domain import mustachio
from postlane.domain.errors import Entity, NotFound, TemplateInvalid
from postlane.domain.records import Template
from postlane.services.template_checks import inline_css
from postlane.services.templates import LAYOUT
from postlane.store import Transaction
from postlane.store import templates as store


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    html_body: str | None
    text_body: str | None
    #: Why the template could not be rendered with the model (Mustachio's rendering
    #: failure): Postmark accepts such a send and bounces it as TemplateRenderingFailed,
    #: so the parts are then the template's own, unrendered.
    error: str | None = None


class _RenderFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Sources:
    """What a send renders: the Standard template and the Layout it names (if any), as
    read together. A send made from them carries them (Submission.rendered_from), so the
    accepting transaction can tell whether they are still current."""

    template: Template
    layout: Template | None

    @property
    def records(self) -> tuple[Template, ...]:
        return (self.template,) if self.layout is None else (self.template, self.layout)


def template_key(template_id: int | None, alias: str | None) -> int | str:
    """The id or alias a send names (Postmark: TemplateId or TemplateAlias, one of them)."""
    if (template_id is None) == (alias is None):
        raise TemplateInvalid("Provide either TemplateId or TemplateAlias, not both.")
    return template_id if template_id is not None else (alias or "")


def template_for(conn: Transaction, server_id: int, template_id: int | None,
                 alias: str | None) -> Template:
    """The template a send names: a Standard one, active."""
    key = template_key(template_id, alias)
    found = store.get(conn, server_id, key)
    if found is None or not found.active:
        raise NotFound(Entity.TEMPLATE, key)
    if found.template_type == LAYOUT:
        raise TemplateInvalid(f"The template '{key}' is a Layout: send a Standard template "
                              "that uses it.")
    return found


def sources(conn: Transaction, server_id: int, template_id: int | None,
            alias: str | None) -> Sources:
    """template_for and its Layout, in the caller's transaction."""
    template = template_for(conn, server_id, template_id, alias)
    layout = store.get(conn, server_id, template.layout_template) \
        if template.layout_template else None
    return Sources(template, layout)


def render(conn: Transaction, template: Template, model: object, inline: bool) -> Rendered:
    """render_sources with the template's Layout read in ``conn``."""
    layout = store.get(conn, template.server_id, template.layout_template) \
        if template.layout_template else None
    return render_sources(Sources(template, layout), model, inline)


def render_sources(found: Sources, model: object, inline: bool) -> Rendered:
    """Subject, HTML and text of the template for ``model``; with ``error`` set when a part
    cannot be rendered (Mustachio's rendering failure: ``{{#each}}`` over a non-list).
    Pure CPU work on parsed templates (cached by text): cheap enough for the event loop
    for the templates a send names."""
    try:
        return _rendered(found, model, inline)
    except _RenderFailed as exc:
        template = found.template
        return Rendered(subject=template.subject or "", html_body=template.html_body,
                        text_body=template.text_body, error=str(exc))


def _rendered(found: Sources, model: object, inline: bool) -> Rendered:
    template, layout = found.template, found.layout
    html = _part(template.html_body, layout.html_body if layout else None, model, True)
    if html is not None and inline:
        html = inline_css(html)
    text = _part(template.text_body, layout.text_body if layout else None, model, False)
    subject = _part(template.subject, None, model, False) or ""
    return Rendered(subject=subject, html_body=html, text_body=text)


@functools.lru_cache(maxsize=1024)
def _parsed(text: str, layout: bool = False) -> mustachio.Template:
    """A template's text parsed once per process: parsing is most of a send's template
    work, the parsed form is immutable, and an edited template is new text (a new key)."""
    return mustachio.parse(text, layout=layout)


def _part(text: str | None, layout_text: str | None, model: object, escape: bool) -> str | None:
    if text is None:
        return None
    try:
        parsed = _parsed(text)
        if layout_text:
            return mustachio.render_with_layout(_parsed(layout_text, layout=True),
                                                parsed, model, escape_html=escape)
        return mustachio.render(parsed, model, escape_html=escape)
    except (mustachio.TemplateSyntaxError, mustachio.TemplateRenderError) as exc:
        raise _RenderFailed(f"The template cannot be rendered with this TemplateModel: "
                            f"{exc}") from exc
