"""Template rendering on one core: a realistic Layout (styles, header, footer) and a
receipt template (a loop over order lines, escaped values, numbers), rendered into each
other with Postlane's Mustachio engine, parsed once as a send does
(services.template_sending). The anchor, in the same run: Jinja2, a compiled C-accelerated
engine of the field, rendering the equivalent template with autoescaping. Then the CSS
inlining a send adds by default (css-inline), reported beside it."""

from __future__ import annotations

import time
from collections.abc import Callable

import jinja2

from benchmarks.common import Row, main
from postlane.domain import mustachio
from postlane.services.template_checks import inline_css

LAYOUT = ("<html><head><style>body { font-family: sans-serif } td { padding: 4px }</style>"
          "</head><body><header>{{company.name}}</header>{{{ @content }}}"
          "<footer>{{company.name}}, {{company.address}}</footer></body></html>")
RECEIPT = ("<h1>Thanks, {{customer.name}}!</h1><p>Order {{order.number}} of {{order.date}}</p>"
           "<table>{{#each order.lines}}<tr><td>{{description}}</td><td>{{quantity}}</td>"
           "<td>{{price}}</td></tr>{{/each}}</table><p>Total: {{order.total}}</p>"
           "{{#order.note}}<p>{{.}}</p>{{/order.note}}")
JINJA = ("<html><head><style>body { font-family: sans-serif } td { padding: 4px }</style>"
         "</head><body><header>{{company.name}}</header>"
         "<h1>Thanks, {{customer.name}}!</h1><p>Order {{order.number}} of {{order.date}}</p>"
         "<table>{% for line in order.lines %}<tr><td>{{line.description}}</td>"
         "<td>{{line.quantity}}</td><td>{{line.price}}</td></tr>{% endfor %}</table>"
         "<p>Total: {{order.total}}</p>{% if order.note %}<p>{{order.note}}</p>{% endif %}"
         "<footer>{{company.name}}, {{company.address}}</footer></body></html>")
MODEL = {"company": {"name": "Acme & Sons", "address": "1 Main St"},
         "customer": {"name": "Ann <ann@example.com>"},
         "order": {"number": "A-1042", "date": "2026-12-01", "total": 123.45,
                   "note": "Leave at the door",
                   "lines": [{"description": f"Item {i}", "quantity": i, "price": i * 9.99}
                             for i in range(1, 9)]}}


def _rate(render: Callable[[], str], seconds: float) -> float:
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for _ in range(100):
            render()
        done += 100
    return done / (time.perf_counter() - began)


def run(quick: bool) -> list[Row]:
    seconds = 1.0 if quick else 3.0
    layout, receipt = mustachio.parse(LAYOUT, layout=True), mustachio.parse(RECEIPT)
    jinja = jinja2.Environment(autoescape=True).from_string(JINJA)
    anchor = _rate(lambda: jinja.render(MODEL), seconds)
    ours = _rate(lambda: mustachio.render_with_layout(layout, receipt, MODEL), seconds)
    html = mustachio.render_with_layout(layout, receipt, MODEL)
    inlined = _rate(lambda: inline_css(html), seconds)
    return [
        Row("templates: Jinja2 render (anchor)", anchor, "msg/s", note="one core"),
        Row("templates: Mustachio layout + receipt", ours, "msg/s",
            note=f"{ours / anchor:.2f}x the anchor, one core"),
        Row("templates: CSS inlining (css-inline)", inlined, "msg/s",
            note="the rendered HTML, as InlineCss does"),
    ]


if __name__ == "__main__":
    main(run)
