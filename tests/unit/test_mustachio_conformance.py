"""Mustachio's own test fixtures (ActiveCampaign/mustachio, MIT), run against the port:
the data lives in tests/data/mustachio/ (see its README for the attribution)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from postlane.domain.mustachio import (
    TemplateSyntaxError,
    parse,
    render,
    render_with_layout,
    suggested_model,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "mustachio"
CASES: dict[str, list[dict[str, Any]]] = json.loads(
    (DATA / "conformance.json").read_text(encoding="utf-8"))


def _ids(kind: str) -> list[str]:
    return [f"{n}-{case['source']}" for n, case in enumerate(CASES[kind])]


def _template_text(case: dict[str, Any]) -> str:
    if "template_file" in case:
        return (DATA / case["template_file"]).read_text(encoding="utf-8")
    text: str = case["template"]
    return text


@pytest.mark.parametrize("case", CASES["render"], ids=_ids("render"))
def test_render(case: dict[str, Any]) -> None:
    template = parse(case["template"])
    escape = case.get("escape_html", True)
    assert render(template, case["model"], escape_html=escape) == case["expected"]


@pytest.mark.parametrize("case", CASES["parse_ok"], ids=_ids("parse_ok"))
def test_parses(case: dict[str, Any]) -> None:
    text = _template_text(case)
    template = parse(text)
    if "{{" not in text:
        assert render(template, {}) == text


@pytest.mark.parametrize("case", CASES["parse_error"], ids=_ids("parse_error"))
def test_refused(case: dict[str, Any]) -> None:
    with pytest.raises(TemplateSyntaxError) as refused:
        parse(case["template"], layout=case.get("layout", False))
    issues = refused.value.issues
    if "error_count" in case:
        assert len(issues) == case["error_count"]
    if "lines" in case:
        assert [issue.line for issue in issues] == case["lines"]
    if "positions" in case:
        assert [[issue.line, issue.column] for issue in issues] == case["positions"]


@pytest.mark.parametrize("case", CASES["inference"], ids=_ids("inference"))
def test_inferred_model(case: dict[str, Any]) -> None:
    template = parse(case["template"])
    if "layout" in case:
        layout = parse(case["layout"], layout=True)
        assert suggested_model(layout, content=template) == case["expected"]
    else:
        assert suggested_model(template) == case["expected"]


@pytest.mark.parametrize("case", CASES["layout"], ids=_ids("layout"))
def test_layout(case: dict[str, Any]) -> None:
    layout = parse(case["layout"], layout=True)
    content = parse(case["content"])
    assert layout.has_content_slot
    assert render_with_layout(layout, content, case["model"]) == case["expected"]
