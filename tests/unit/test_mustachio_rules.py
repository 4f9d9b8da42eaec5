"""Each rule of Mustachio's language as Postlane renders it (postlane.domain.mustachio),
one test per rule, beyond the ported fixtures (test_mustachio_conformance.py)."""

from __future__ import annotations

import pytest

from postlane.domain.mustachio import TemplateRenderError, parse, render


def _r(template: str, model: object, *, escape_html: bool = True) -> str:
    return render(parse(template), model, escape_html=escape_html)


def test_escaped_raw_and_ampersand_values() -> None:
    model = {"x": "<a href=\"?a=1&b='2'\">"}
    assert _r("{{ x }}", model) == "&lt;a href=&quot;?a=1&amp;b=&#39;2&#39;&quot;&gt;"
    assert _r("{{{ x }}}", model) == model["x"]
    assert _r("{{& x }}", model) == model["x"]
    assert _r("{{&x}}", model) == model["x"]


def test_escaping_can_be_turned_off_for_text_bodies() -> None:
    assert _r("{{ x }} {{{ x }}}", {"x": "<b>"}, escape_html=False) == "<b> <b>"


def test_dot_paths_reach_into_objects_and_stop_at_anything_else() -> None:
    model = {"a": {"b": {"c": "deep"}}, "s": "text", "l": [{"c": 1}]}
    assert _r("{{ a.b.c }}", model) == "deep"
    assert _r("[{{ a.x.c }}][{{ s.length }}][{{ l.c }}][{{ nope }}]", model) == "[][][][]"


def test_dot_is_the_scope_itself_and_this_is_an_ordinary_key() -> None:
    assert _r("{{#each l}}<{{.}}>{{/each}}", {"l": ["a", "b"]}) == "<a><b>"
    assert _r("{{#each l}}<{{this}}>{{/each}}", {"l": ["a", "b"]}) == "<><>"
    assert _r("{{#each l}}{{this}}{{/each}}", {"l": [{"this": "t"}]}) == "t"


def test_each_iterates_lists_with_the_item_as_scope() -> None:
    model = {"people": [{"name": "Ann", "tags": ["x", "y"]}, {"name": "Bob", "tags": []}]}
    template = "{{#each people}}{{name}}:{{#each tags}}{{.}}{{/each}};{{/each}}"
    assert _r(template, model) == "Ann:xy;Bob:;"
    assert _r("{{#each t}}{{.}}{{/each}}", {"t": (1, 2)}) == "12"


def test_a_section_over_a_list_renders_once_and_does_not_iterate() -> None:
    model = {"list": [{"name": "a"}, {"name": "b"}]}
    assert _r("{{#list}}[{{name}}{{.}}]{{/list}}", model) == "[]"
    assert _r("{{#list}}yes{{/list}}{{^list}}no{{/list}}", {"list": []}) == "no"


def test_a_section_scopes_to_its_value() -> None:
    model = {"person": {"first": "Andrew"}, "name": "Dave"}
    assert _r("{{#person}}Hello {{first}}{{/person}}", model) == "Hello Andrew"
    assert _r("Dear {{#name}}{{.}}{{/name}}{{^name}}Customer{{/name}}", model) == "Dear Dave"
    assert _r("Dear {{#name}}{{.}}{{/name}}{{^name}}Customer{{/name}}", {}) == "Dear Customer"


def test_an_inverted_section_is_scoped_to_its_falsy_value() -> None:
    model = {"missing": None, "x": "outer"}
    assert _r("{{^missing}}[{{x}}]{{/missing}}", model) == "[]"
    assert _r("{{^missing}}[{{../x}}]{{/missing}}", model) == "[outer]"


def test_no_implicit_lookup_up_the_stack() -> None:
    model = {"company": "ACME", "person": {"name": "Wile"}, "staff": [{"name": "Road"}]}
    assert _r("{{#person}}{{name}} at {{company}}{{/person}}", model) == "Wile at "
    assert _r("{{#person}}{{name}} at {{../company}}{{/person}}", model) == "Wile at ACME"


def test_from_an_each_item_parent_is_the_list_and_grandparent_the_scope_around() -> None:
    model = {"company": "ACME", "staff": [{"name": "Road"}, {"name": "Wile"}]}
    assert _r("{{#each staff}}{{name}}@{{../company}};{{/each}}", model) == "Road@;Wile@;"
    template = "{{#each staff}}{{name}}@{{../../company}};{{/each}}"
    assert _r(template, model) == "Road@ACME;Wile@ACME;"


def test_parent_follows_the_steps_of_the_path_and_stops_at_the_root() -> None:
    model = {"a": {"b": {"c": 1}, "tag": "in a"}, "tag": "root"}
    assert _r("{{#a.b}}{{../tag}}{{/a.b}}", model) == "in a"
    assert _r("{{../tag}}|{{../../../tag}}", model) == "root|root"
    assert _r("{{a../tag}}", model) == "root"


def test_same_name_reopened_is_an_else_not_a_nested_section() -> None:
    template = "{{#ok}}yes{{^ok}}no{{/ok}}"
    assert _r(template, {"ok": True}) == "yes"
    assert _r(template, {"ok": False}) == "no"
    # A nested reading would open "a" inside "a" (a key the object lacks) and print "x".
    assert _r("{{#a}}x{{#a}}y{{/a}}", {"a": {"k": 1}}) == "xy"


@pytest.mark.parametrize("value", [None, False, 0, 0.0, -0.0, "", [], {}])
def test_falsy_values(value: object) -> None:
    assert _r("{{#v}}T{{/v}}{{^v}}F{{/v}}", {"v": value}) == "F"


@pytest.mark.parametrize("value", [True, 1, -1, 0.5, "0", "false", " ", [0], [None], {"k": None}])
def test_truthy_values(value: object) -> None:
    assert _r("{{#v}}T{{/v}}{{^v}}F{{/v}}", {"v": value}) == "T"


@pytest.mark.parametrize("value", ["text", {"k": 1}, 3, True])
def test_each_over_a_truthy_non_list_fails_the_render(value: object) -> None:
    with pytest.raises(TemplateRenderError) as failed:
        _r("{{#each v}}x{{/each}}", {"v": value})
    assert failed.value.path == "v"
    assert "'v' is used like an array by the template" in str(failed.value)


@pytest.mark.parametrize("value", [0, "", {}, None, False])
def test_each_over_a_falsy_value_renders_nothing(value: object) -> None:
    assert _r("[{{#each v}}x{{/each}}]", {"v": value}) == "[]"


def test_printable_values() -> None:
    model = {"t": True, "f": False, "i": -42, "big": 10**20, "x": 2.5, "e": 1e21,
             "o": {"a": 1}, "l": [1, 2], "n": None}
    template = "{{t}}|{{f}}|{{i}}|{{big}}|{{x}}|{{e}}|{{o}}|{{l}}|{{n}}"
    assert _r(template, model) == "True|False|-42|100000000000000000000|2.5|1E+21|||"


def test_comments_vanish_and_a_brace_inside_makes_text() -> None:
    assert _r("a{{! one\ntwo }}b", {}) == "ab"
    assert _r("a{{! x } y }}b", {}) == "a{{! x } y }}b"


def test_a_scope_that_is_not_an_object_has_no_keys() -> None:
    assert _r("{{#s}}[{{length}}]{{/s}}", {"s": "abc"}) == "[]"


def test_a_template_renders_many_times_without_state() -> None:
    template = parse("{{#each l}}{{.}}{{/each}}")
    assert [render(template, {"l": list(range(n))}) for n in range(3)] == ["", "0", "01"]
