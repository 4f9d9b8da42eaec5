"""Templates: Postmark's rules for Standard templates and Layouts (what each must hold,
how an alias is spelled, which Layout a template may name), the validate endpoint's
test render, and pushing templates from one server to another by alias."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from postlane.domain import mustachio
from postlane.domain.errors import (
    Entity,
    LayoutInUse,
    LayoutPlaceholder,
    NotFound,
    TemplateFieldMissing,
    TemplateFieldNotAllowed,
    TemplateFieldTooLarge,
    TemplateInvalid,
    TemplateLimit,
    TemplatePushEmpty,
    TemplatePushTypeMismatch,
    TemplateQueryInvalid,
)
from postlane.domain.records import Template
from postlane.store import Transaction, servers
from postlane.store import templates as store

STANDARD, LAYOUT = "Standard", "Layout"
TYPES = {"standard": STANDARD, "layout": LAYOUT}
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
#: Postmark's limits: templates per server, characters of a Name or an Alias.
MAX_TEMPLATES = 300
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class TemplateFields:
    """What a create or edit request gives; None means "not given" (an edit keeps it)."""

    name: str | None = None
    subject: str | None = None
    html_body: str | None = None
    text_body: str | None = None
    alias: str | None = None
    template_type: str | None = None
    layout_template: str | None = None


def template_type(value: str | None) -> str:
    """Postmark's spelling of a TemplateType given in any case (Standard when absent)."""
    if value is None or value == "":
        return STANDARD
    found = TYPES.get(value.lower())
    if found is None:
        raise TemplateInvalid(f"The TemplateType '{value}' is not valid: use Standard or Layout.")
    return found


def listing(conn: Transaction, server_id: int, kind: str | None, layout: str | None,
            count: int, offset: int) -> tuple[int, list[Template]]:
    """One page of the server's templates; ``kind`` "All" (or none) lists both types."""
    try:
        chosen = None if kind is None or kind.lower() == "all" else template_type(kind)
    except TemplateInvalid as exc:
        raise TemplateQueryInvalid(str(exc)) from exc
    return store.listing(conn, server_id, template_type=chosen, layout=layout, count=count,
                         offset=offset)


def find(conn: Transaction, server_id: int, id_or_alias: int | str) -> Template:
    found = store.get(conn, server_id, id_or_alias)
    if found is None:
        raise NotFound(Entity.TEMPLATE, id_or_alias)
    return found


def _parse(field: str, text: str | None, layout: bool) -> mustachio.Template | None:
    if text is None:
        return None
    try:
        parsed = mustachio.parse(text, layout=layout)
    except mustachio.TemplateSyntaxError as exc:
        raise TemplateInvalid(f"The {field} contains invalid syntax: {exc.message} "
                              f"(line {exc.line}, position {exc.column}).") from exc
    if layout and field != "Subject" and not parsed.has_content_slot:
        raise LayoutPlaceholder(f"The layout's {field} must contain the "
                              "{{{ @content }}} placeholder.")
    return parsed


def _check(conn: Transaction, server_id: int, values: dict[str, Any], self_id: int | None) -> None:
    _required(values)
    _references(conn, server_id, values, self_id)


def _required(values: dict[str, Any]) -> None:
    """The fields each type needs, and content that parses (a Layout's with its slot)."""
    kind = values["template_type"]
    for field, key in (("Name", "name"), ("Alias", "alias")):
        if len(values.get(key) or "") > MAX_NAME:
            raise TemplateFieldTooLarge(f"The {field} is longer than {MAX_NAME} characters.")
    if not values.get("name"):
        raise TemplateFieldMissing("The Name field is required.")
    if not values.get("html_body") and not values.get("text_body"):
        raise TemplateFieldMissing("Either an HtmlBody or a TextBody is required.")
    if kind == STANDARD and not values.get("subject"):
        raise TemplateFieldMissing("The Subject field is required for a Standard template.")
    for field, key in (("Subject", "subject"), ("HtmlBody", "html_body"),
                       ("TextBody", "text_body")):
        _parse(field, values.get(key), kind == LAYOUT and key != "subject")


def _references(conn: Transaction, server_id: int, values: dict[str, Any],
                self_id: int | None) -> None:
    """An alias well spelled and free on the server; a LayoutTemplate naming a Layout."""
    alias = values.get("alias")
    if alias is not None:
        if not _ALIAS.match(alias):
            raise TemplateInvalid(
                f"The Alias '{alias}' is not valid: it must start with a letter and contain "
                "only letters, digits, '.', '-' and '_'.")
        other = store.get(conn, server_id, alias)
        if other is not None and other.id != self_id:
            raise TemplateInvalid(f"The Alias '{alias}' is already in use on this server.")
    layout = values.get("layout_template")
    if layout:
        if values["template_type"] == LAYOUT:
            raise TemplateFieldNotAllowed("A Layout template cannot itself use a LayoutTemplate.")
        target = store.get(conn, server_id, layout)
        if target is None or target.template_type != LAYOUT:
            raise NotFound(Entity.TEMPLATE, layout)


def _given(fields: TemplateFields) -> dict[str, Any]:
    values = {key: getattr(fields, key) for key in
              ("name", "subject", "html_body", "text_body", "alias", "layout_template")
              if getattr(fields, key) is not None}
    for key in ("alias", "layout_template"):  # "" clears them
        if values.get(key) == "":
            values[key] = None
    return values


def create(conn: Transaction, server_id: int, fields: TemplateFields) -> Template:
    values = {"subject": None, "html_body": None, "text_body": None, "alias": None,
              "layout_template": None, **_given(fields),
              "template_type": template_type(fields.template_type)}
    if values["template_type"] == LAYOUT and values["subject"]:
        raise TemplateFieldNotAllowed("A Layout template has no Subject.")
    _check(conn, server_id, values, None)
    if store.count(conn, server_id) >= MAX_TEMPLATES:
        raise TemplateLimit(f"A server may have up to {MAX_TEMPLATES} templates.")
    return find(conn, server_id, store.create(conn, server_id, values))


def edit(conn: Transaction, server_id: int, id_or_alias: int | str,
         fields: TemplateFields) -> Template:
    current = find(conn, server_id, id_or_alias)
    if fields.template_type and template_type(fields.template_type) != current.template_type:
        raise TemplateFieldNotAllowed("A template's TemplateType cannot be changed.")
    changes = _given(fields)
    if current.template_type == LAYOUT and changes.get("subject"):
        raise TemplateFieldNotAllowed("A Layout template has no Subject.")
    if current.template_type == LAYOUT:
        changes.pop("subject", None)
    values = {"name": current.name, "subject": current.subject, "html_body": current.html_body,
              "text_body": current.text_body, "alias": current.alias,
              "layout_template": current.layout_template,
              "template_type": current.template_type, **changes}
    _check(conn, server_id, values, current.id)
    store.update(conn, current.id, changes)
    if (current.template_type == LAYOUT and current.alias
            and (values["alias"] or "").lower() != current.alias.lower()):
        store.relink_layout(conn, server_id, current.alias, values["alias"])
    return find(conn, server_id, current.id)


def delete(conn: Transaction, server_id: int, id_or_alias: int | str) -> Template:
    current = find(conn, server_id, id_or_alias)
    if (current.template_type == LAYOUT and current.alias
            and store.layout_users(conn, server_id, current.alias)):
        raise LayoutInUse(f"The layout '{current.alias}' is used by other templates "
                          "and cannot be deleted.")
    store.delete(conn, current.id)
    return current


def push(conn: Transaction, source_id: int, destination_id: int,
         perform: bool) -> list[tuple[str, Template, int | None]]:
    """Copy the source server's templates that have an alias to the destination, matched
    by alias: (action "Create" or "Edit", the source template, the destination's id, None
    for a dry run's creates). Layouts go first so the Standard templates that name them
    find them."""
    for server in (source_id, destination_id):
        if servers.get(conn, server) is None:
            raise NotFound(Entity.SERVER, server)
    _, items = store.listing(conn, source_id, count=10**9)
    items = sorted((t for t in items if t.alias), key=lambda t: t.template_type != LAYOUT)
    if not items:
        raise TemplatePushEmpty("The source server has no templates with an alias to push.")
    for item in items:
        assert item.alias is not None
        target = store.get(conn, destination_id, item.alias)
        if target is not None and target.template_type != item.template_type:
            raise TemplatePushTypeMismatch(
                f"The template '{item.alias}' is a {item.template_type} on the source server "
                f"and a {target.template_type} on the destination.")
    done: list[tuple[str, Template, int | None]] = []
    for item in items:
        assert item.alias is not None
        target = store.get(conn, destination_id, item.alias)
        values = {"name": item.name, "subject": item.subject, "html_body": item.html_body,
                  "text_body": item.text_body, "alias": item.alias,
                  "layout_template": item.layout_template}
        if target is None:
            new_id = (store.create(conn, destination_id,
                                   {**values, "template_type": item.template_type})
                      if perform else None)
            done.append(("Create", item, new_id))
        else:
            if perform:
                store.update(conn, target.id, values)
            done.append(("Edit", item, target.id))
    return done
