"""Layouts: a Layout template holds ``{{{ @content }}}`` where the standard template's
rendered body goes, rendered from the same model in the slot's scope."""

from __future__ import annotations

import pytest

from postlane.domain.mustachio import (
    TemplateSyntaxError,
    parse,
    render,
    render_with_layout,
    suggested_model,
)


@pytest.mark.parametrize("slot", ["{{{ @content }}}", "{{{@content}}}", "{{{  @content\n}}}"])
def test_the_slot_takes_any_spacing(slot: str) -> None:
    layout = parse(f"<body>{slot}</body>", layout=True)
    assert render_with_layout(layout, parse("Hi {{name}}"), {"name": "<Ann>"}) == (
        "<body>Hi &lt;Ann&gt;</body>")


def test_a_layout_without_slot_and_a_layout_rendered_alone() -> None:
    assert not parse("<p>{{x}}</p>", layout=True).has_content_slot
    layout = parse("[{{{ @content }}}]{{x}}", layout=True)
    assert render(layout, {"x": 1}) == "[]1"


def test_the_content_is_rendered_in_the_scope_of_the_slot() -> None:
    layout = parse("{{#brand}}{{name}}: {{{ @content }}}{{/brand}}", layout=True)
    content = parse("{{name}} / {{../user}}")
    model = {"brand": {"name": "ACME"}, "user": "Ann"}
    assert render_with_layout(layout, content, model) == "ACME: ACME / Ann"


def test_every_slot_gets_the_content_and_escaping_follows_the_flag() -> None:
    layout = parse("{{{ @content }}}|{{{ @content }}}|{{x}}", layout=True)
    content = parse("{{x}}")
    assert render_with_layout(layout, content, {"x": "<"}) == "&lt;|&lt;|&lt;"
    assert render_with_layout(layout, content, {"x": "<"}, escape_html=False) == "<|<|<"


def test_the_content_cannot_hold_a_slot_itself() -> None:
    with pytest.raises(TemplateSyntaxError):
        parse("{{{ @content }}}")


def test_the_suggested_model_of_a_layout_and_its_content() -> None:
    layout = parse("{{company}}{{#each items}}{{{ @content }}}{{/each}}", layout=True)
    content = parse("{{title}}")
    assert suggested_model(layout, content=content) == {
        "company": "company_Value", "items": [{"title": "title_Value"}]}
    assert suggested_model(layout) == {
        "company": "company_Value", "items": ["items_1", "items_2", "items_3"]}
