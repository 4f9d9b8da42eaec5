"""The dashboard's template editor as data: what its form holds (a draft), and the live
preview of a draft, worked out by the same service as POST /templates/validate
(postlane.services.template_checks), so the editor and the API agree on every error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from postlane.domain.errors import NotFound
from postlane.domain.records import Template
from postlane.services import template_checks
from postlane.services import templates as service
from postlane.store import Transaction

#: The form's fields (and the draft's attributes), as the browser names them.
FIELDS = ("name", "alias", "subject", "layout_template", "html_body", "text_body",
          "test_model")
#: What an editor shows before anything is typed in the test model.
EMPTY_MODEL = "{}"


@dataclass(frozen=True, slots=True)
class Draft:
    """The editor's form as typed: every field a string, "" when left empty."""

    template_type: str = service.STANDARD
    name: str = ""
    alias: str = ""
    subject: str = ""
    layout_template: str = ""
    html_body: str = ""
    text_body: str = ""
    test_model: str = EMPTY_MODEL

    @property
    def is_layout(self) -> bool:
        return self.template_type == service.LAYOUT

    def fields(self, *, clear_blank: bool = False) -> service.TemplateFields:
        """What the service is given. A Layout has no Subject and no LayoutTemplate. An
        empty body is no body (a create or a preview); an edit says ``clear_blank``, and
        the body emptied in the form is emptied in the store."""
        def body(text: str) -> str | None:
            return text if text or clear_blank else None

        return service.TemplateFields(
            name=self.name.strip(), alias=self.alias.strip(),
            subject=None if self.is_layout else self.subject,
            html_body=body(self.html_body), text_body=body(self.text_body),
            template_type=self.template_type,
            layout_template=None if self.is_layout else self.layout_template.strip())


def draft_from_form(form: FormData, template_type: str) -> Draft:
    """The posted form. A browser sends a textarea's line breaks as CRLF whatever was
    typed or stored; they are saved as LF, as the API's clients send them."""
    values = {name: str(form.get(name) or "").replace("\r\n", "\n") for name in FIELDS}
    values["test_model"] = values["test_model"] or EMPTY_MODEL
    return Draft(template_type=template_type, **values)


def draft_of(template: Template) -> Draft:
    """A stored template as the editor shows it."""
    return Draft(template_type=template.template_type, name=template.name,
                 alias=template.alias or "", subject=template.subject or "",
                 layout_template=template.layout_template or "",
                 html_body=template.html_body or "", text_body=template.text_body or "")


@dataclass(frozen=True, slots=True)
class Problem:
    """One error the preview shows: the part it is in (Subject, HtmlBody, TextBody,
    LayoutTemplate, TestModel) and where in that part, when known."""

    part: str
    message: str
    line: int | None = None
    column: int | None = None

    def answer(self) -> dict[str, Any]:
        return {"Part": self.part, "Message": self.message, "Line": self.line,
                "CharacterPosition": self.column}


@dataclass(frozen=True, slots=True)
class Preview:
    """A draft rendered with its test model: what each part renders to (None when it
    does not), every problem, and the model its tags use (Postmark's suggestion)."""

    subject: str | None
    html: str | None
    text: str | None
    problems: tuple[Problem, ...]
    suggested_model: Any

    @property
    def valid(self) -> bool:
        return not self.problems

    def answer(self) -> dict[str, Any]:
        """The preview endpoint's JSON."""
        return {"Valid": self.valid, "Subject": self.subject, "HtmlBody": self.html,
                "TextBody": self.text, "Errors": [p.answer() for p in self.problems],
                "SuggestedTemplateModel": self.suggested_model}


def test_model(text: str) -> tuple[Any, Problem | None]:
    """The test model typed as JSON; a model that does not parse previews with {}."""
    if not text.strip():
        return {}, None
    try:
        return json.loads(text), None
    except ValueError as exc:
        return {}, Problem("TestModel", f"The test model is not valid JSON: {exc}")


def _layout_problem(conn: Transaction, server_id: int, draft: Draft) -> Problem | None:
    """A LayoutTemplate that names no Layout of this server (validate would just render
    without it; a save would refuse it)."""
    alias = draft.layout_template.strip()
    if draft.is_layout or not alias:
        return None
    try:
        found = service.find(conn, server_id, alias)
    except NotFound:
        found = None
    if found is None or found.template_type != service.LAYOUT:
        return Problem("LayoutTemplate", f"There is no layout '{alias}' on this server.")
    return None


def preview(conn: Transaction, server_id: int, draft: Draft) -> Preview:
    model, model_problem = test_model(draft.test_model)
    answer = template_checks.validate(conn, server_id, draft.fields(), model)
    problems = [model_problem] if model_problem else []
    layout_problem = _layout_problem(conn, server_id, draft)
    if layout_problem:
        problems.append(layout_problem)
    for part in ("Subject", "HtmlBody", "TextBody"):
        problems += [Problem(part, e["Message"], e["Line"], e["CharacterPosition"])
                     for e in answer[part]["ValidationErrors"]]
    return Preview(subject=answer["Subject"]["RenderedContent"],
                   html=answer["HtmlBody"]["RenderedContent"],
                   text=answer["TextBody"]["RenderedContent"],
                   problems=tuple(problems),
                   suggested_model=answer["SuggestedTemplateModel"])
