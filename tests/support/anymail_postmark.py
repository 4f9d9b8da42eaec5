"""django-anymail's Postmark tracking webhook view as a reader of what Postlane POSTs: a
received request (its body and its Basic auth) is replayed into the real view, which
checks the auth, parses the payload and sends its ``tracking`` signal; the events it sent
are returned. Django runs with a minimal settings.configure(), no project."""

from __future__ import annotations

import json
from typing import Any

#: The webhook's HttpAuth, which the view is configured to require (ANYMAIL WEBHOOK_SECRET).
USERNAME, PASSWORD = "anymail", "hook-secret"


def _configure() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["testserver"], DEBUG=False, USE_TZ=True,
                           ANYMAIL={"WEBHOOK_SECRET": f"{USERNAME}:{PASSWORD}"})
        django.setup()


def tracking_events(body: Any, headers: dict[str, str]) -> tuple[int, list[Any]]:
    """The view's HTTP status and the AnymailTrackingEvents it signalled for one POST."""
    _configure()
    from anymail.signals import tracking
    from anymail.webhooks.postmark import PostmarkTrackingWebhookView
    from django.test import RequestFactory

    events: list[Any] = []

    def collect(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
        assert esp_name == "Postmark"
        events.append(event)

    auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    request = RequestFactory().post("/anymail/postmark/tracking/", data=json.dumps(body),
                                    content_type="application/json",
                                    HTTP_AUTHORIZATION=auth)
    tracking.connect(collect, weak=False)
    try:
        response = PostmarkTrackingWebhookView.as_view()(request)
    finally:
        tracking.disconnect(collect)
    return response.status_code, events
