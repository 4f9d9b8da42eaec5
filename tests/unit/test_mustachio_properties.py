"""Properties of the Mustachio engine over generated templates and models."""

from __future__ import annotations

import html
import json

from hypothesis import given
from hypothesis import strategies as st

from postlane.domain.mustachio import (
    TemplateRenderError,
    TemplateSyntaxError,
    parse,
    render,
    suggested_model,
)

_ESCAPED = parse("{{ v }}")
_RAW = parse("{{{ v }}}")
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "v", "l"]), inner, max_size=3),
    max_leaves=12,
)
#: Template text built from the language's pieces, so that many parse.
_piece = st.sampled_from([
    "{{a}}", "{{{b}}}", "{{&v}}", "{{.}}", "{{../a}}", "{{#a}}", "{{/a}}", "{{^b}}", "{{/b}}",
    "{{#each l}}", "{{/each}}", "{{! c }}", "x", "<", "\n", "{", "}", "{{a.b}}", "{{bad path}}",
])
_template_text = st.lists(_piece, max_size=12).map("".join)


@given(st.text())
def test_escaped_output_never_holds_markup_and_decodes_to_the_value(value: str) -> None:
    out = render(_ESCAPED, {"v": value})
    assert not set(out) & set("<>\"'")
    assert html.unescape(out) == value


@given(st.text())
def test_raw_output_is_the_value(value: str) -> None:
    assert render(_RAW, {"v": value}) == value
    assert render(_ESCAPED, {"v": value}, escape_html=False) == value


@given(st.text().filter(lambda t: "{{" not in t))
def test_text_without_tags_renders_to_itself(text: str) -> None:
    assert render(parse(text), {}) == text


@given(st.text())
def test_any_text_parses_or_is_refused_with_located_issues(text: str) -> None:
    try:
        parse(text)
    except TemplateSyntaxError as refused:
        positions = [(issue.line, issue.column) for issue in refused.issues]
        assert positions == sorted(positions)
        assert all(line >= 1 and column >= 1 for line, column in positions)
        assert all(line <= text.count("\n") + 1 for line, _ in positions)


@given(_template_text, _json)
def test_parsed_templates_render_any_json_model(text: str, model: object) -> None:
    try:
        template = parse(text)
    except TemplateSyntaxError:
        return
    try:
        out = render(template, model)
    except TemplateRenderError as failed:
        assert failed.path == "l"
    else:
        assert isinstance(out, str)
    json.dumps(suggested_model(template))
