"""What Mustachio refuses, with its wording and the position of the offending tag."""

from __future__ import annotations

import pytest

from postlane.domain.mustachio import SyntaxIssue, TemplateSyntaxError, parse
from postlane.domain.mustachio import errors as msg


def _issues(template: str, *, layout: bool = False) -> list[tuple[str, int, int]]:
    with pytest.raises(TemplateSyntaxError) as refused:
        parse(template, layout=layout)
    return [(i.message, i.line, i.column) for i in refused.value.issues]


def test_each_without_a_path_and_left_open() -> None:
    assert _issues("ab{{#each}}") == [
        (msg.EACH_WITHOUT_PATH, 1, 3), (msg.UNCLOSED.format("each"), 1, 3)]
    assert msg.EACH_WITHOUT_PATH.endswith("in the form '{#each <name>}'.")


def test_each_glued_to_its_name_is_an_each_without_a_path() -> None:
    assert _issues("{{#eachs}}{{/each}}")[0] == (msg.EACH_WITHOUT_PATH, 1, 1)


def test_the_close_of_an_each_is_exactly_slash_each() -> None:
    assert _issues("{{#each l}}x{{/each }}") == [
        (msg.UNCLOSED.format("l"), 1, 1), (msg.EACH_CLOSE_SYNTAX, 1, 13)]


def test_an_each_closed_without_one_open() -> None:
    assert _issues("{{#a}}{{/each}}{{/a}}") == [(msg.EACH_CLOSE_WITHOUT_OPEN, 1, 7)]


def test_mismatched_closing_tag_leaves_the_section_open() -> None:
    assert _issues("{{#a}}\n  {{/b}}") == [
        (msg.UNCLOSED.format("a"), 1, 1), (msg.MISMATCHED, 2, 3)]


def test_an_each_closed_by_its_name() -> None:
    assert _issues("{{#each l}}{{/l}}{{/each}}") == [(msg.MISMATCHED, 1, 12)]


@pytest.mark.parametrize(
    "path", ["first name", "a-b", "x@y", "a..b", "...", "a/b", "x²", "@content"])
def test_invalid_paths(path: str) -> None:
    assert _issues("{{ " + path + " }}") == [(msg.INVALID_PATH.format(path), 1, 1)]


@pytest.mark.parametrize(
    "path", [".", "../", "../x", "a.b", "prénom", "名前", "e\u0301", "a_b", "x1"])
def test_valid_paths(path: str) -> None:
    parse("{{ " + path + " }}")


def test_issues_are_sorted_by_line_then_character() -> None:
    found = _issues("{{#a}}{{b c}}\n{{#each}}{{d e}}")
    positions = [(line, column) for _, line, column in found]
    assert positions == [(1, 1), (1, 7), (2, 1), (2, 1), (2, 10)]


def test_columns_count_utf16_units_as_dotnet_does() -> None:
    assert _issues("😀é{{x y}}")[0][1:] == (1, 4)


def test_crlf_lines_count_newlines() -> None:
    assert _issues("a\r\nb\r\n  {{x y}}")[0][1:] == (3, 3)


def test_an_invalid_name_reopened_is_reported_for_the_close_and_the_open() -> None:
    # Mustachio validates the implied close and the new open: two issues, one tag.
    found = _issues("{{#a b}}{{#a b}}{{/a b}}")
    assert [issue[1:] for issue in found].count((1, 9)) == 2


def test_the_error_names_the_first_issue() -> None:
    with pytest.raises(TemplateSyntaxError) as refused:
        parse("x\n{{#a}}")
    error = refused.value
    assert (error.message, error.line, error.column) == (msg.UNCLOSED.format("a"), 2, 1)
    assert error.issues == (SyntaxIssue(msg.UNCLOSED.format("a"), 2, 1),)
    assert "line 2, character 1" in str(error)


def test_content_slot_only_in_a_layout() -> None:
    assert _issues("a {{{ @content }}}") == [(msg.INVALID_PATH.format("@content"), 1, 3)]
    assert parse("a {{{ @content }}}", layout=True).has_content_slot
    assert _issues("{{ @content }}", layout=True) == [
        (msg.INVALID_PATH.format("@content"), 1, 1)]
