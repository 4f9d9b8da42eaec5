"""SuggestedTemplateModel: the model Mustachio infers from how a template uses each path."""

from __future__ import annotations

from postlane.domain.mustachio import parse, suggested_model


def _m(*templates: str) -> object:
    return suggested_model(*(parse(t) for t in templates))


def test_templates_share_one_root() -> None:
    assert _m("{{subject}}", "<p>{{user.name}}</p>", "{{user.email}}") == {
        "subject": "subject_Value", "user": {"name": "name_Value", "email": "email_Value"}}


def test_a_section_without_children_suggests_an_empty_object() -> None:
    assert _m("{{#flag}}on{{/flag}}{{^off}}x{{/off}}") == {"flag": {}, "off": {}}


def test_printed_and_opened_is_an_object() -> None:
    assert _m("{{name}}{{#name}}{{.}}{{/name}}") == {"name": {}}


def test_printed_only_wins_over_children_reached_by_dots() -> None:
    assert _m("{{a}}{{a.b}}") == {"a": "a_Value"}


def test_parent_in_inference_is_the_node_above_the_collection() -> None:
    # Mustachio infers with the collection node as the scope of an each's body, so one
    # ../ reaches the scope around it (rendering needs two: the list, then the scope).
    assert _m("{{#each items}}{{../shop}}{{/each}}") == {
        "items": ["items_1", "items_2", "items_3"], "shop": "shop_Value"}


def test_parent_at_the_root_stays_at_the_root() -> None:
    assert _m("{{../../x}}") == {"x": "x_Value"}


def test_the_model_itself_printed_suggests_mustachios_bare_value() -> None:
    assert _m("{{.}}") == "_Value"


def test_key_order_is_first_use() -> None:
    model = _m("{{b}}{{a}}{{c.z}}{{c.y}}")
    assert isinstance(model, dict)
    assert list(model) == ["b", "a", "c"]
    assert list(model["c"]) == ["z", "y"]
