"""Open and link tracking, in process on both databases: a Live server delivers to a real
SMTP peer (named by a real DNS zone), the copy the peer receives carries the recipient's
pixel and tracked links, and fetching them records opens and clicks (Opened/LinkClicked
message events, Open/Click webhooks to a real receiver, the opens and clicks searches).
Which messages are tracked follows Postmark's precedence; a tampered or unknown token is
a 404 and never a redirect."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dns_server import ZoneServer
from tests.support.harness import WebhookReceiver, test_settings, wait_until
from tests.support.in_process import InProcessServer, start_in_process
from tests.support.smtp_peer import RulePeer

PUBLIC = "https://track.example.com"
ZONE = {"example.net": {"MX": ["10 mx.example.net."]}, "mx.example.net": {"A": ["127.0.0.1"]}}
HTML = ('<html><body><p>Hello</p><a href="https://shop.example.com/cart?a=1&amp;b=2">Cart</a>'
        "</body></html>")
TEXT = "Hello, see https://shop.example.com/text."
CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
          "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
TRACKED = re.compile(re.escape(PUBLIC)
                     + r"(/track/(?:open|click)/[oc][0-9]+\.[0-9]+\.[0-9a-f-]{36}\.[0-9a-f]{32})")
RECORD_KEYS = {"Client", "OS", "Platform", "UserAgent", "Geo", "MessageID", "MessageStream",
               "ReceivedAt", "Tag", "Recipient", "Metadata", "RecordType"}


class Live:
    """A Live server of an in-process Postlane, delivering to ``peer``."""

    def __init__(self, running: InProcessServer, peer: RulePeer) -> None:
        self.running, self.peer = running, peer
        created = running.api(account=True).post(
            "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
        self.api = running.api(created["ApiTokens"][0])
        self.public = running.client({"User-Agent": CHROME})

    def send(self, to: str, **extra: Any) -> str:
        body = {"From": "app@example.org", "To": to, "Subject": "Hi", "HtmlBody": HTML,
                "TextBody": TEXT, "Tag": "welcome", "Metadata": {"order": "42"}, **extra}
        answer = self.api.post("/email", json=body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["MessageID"])

    def received(self, to: str) -> dict[str, str]:
        """The bodies of the copy ``to`` received, by content type."""
        got = wait_until(lambda: self.peer.messages_to(to), message=f"{to} received it")
        parsed = email.message_from_bytes(got[-1].content, policy=email.policy.default)
        return {part.get_content_type(): part.get_content()  # type: ignore[attr-defined]
                for part in parsed.walk()
                if not part.is_multipart() and not part.is_attachment()}

    def events(self, message_id: str) -> list[dict[str, Any]]:
        details = self.api.get(f"/messages/outbound/{message_id}/details").json()
        return list(details["MessageEvents"])


def tracked(body: str) -> list[str]:
    return TRACKED.findall(body)


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Live]:
    peer = RulePeer().start()
    zone = ZoneServer(ZONE).start()
    running = start_in_process(test_settings(
        database_url, tmp_path / "data", mx_port=peer.port, dns_nameservers=("127.0.0.1",),
        dns_port=zone.port, delivery_timeout_seconds=10, delivery_allow_private_mx=True,
        public_url=PUBLIC))
    try:
        yield Live(running, peer)
    finally:
        running.stop()
        zone.stop()
        peer.stop()


def _hook(live: Live, receiver: WebhookReceiver, **triggers: Any) -> None:
    answer = live.api.post("/webhooks", json={"Url": receiver.url, "Triggers": triggers})
    assert answer.status_code == 200, answer.text


def _of_type(receiver: WebhookReceiver, kind: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: [b for b in receiver.bodies() if b.get("RecordType") == kind]


def test_the_pixel_records_opens_with_events_webhooks_and_searches(
        live: Live, receiver: WebhookReceiver) -> None:
    _hook(live, receiver, Open={"Enabled": True})
    message_id = live.send("ann@example.net", TrackOpens=True)
    bodies = live.received("ann@example.net")
    [pixel] = tracked(bodies["text/html"])
    assert f'<img src="{PUBLIC}{pixel}" width="1" height="1" alt="" />' in bodies["text/html"]
    assert tracked(bodies["text/plain"]) == []  # no link tracking asked for

    first = live.public.get(pixel)
    assert first.status_code == 200 and first.headers["content-type"] == "image/gif"
    assert first.content.startswith(b"GIF89a") and len(first.content) == 43
    assert "no-store" in first.headers["cache-control"]
    assert live.running.client({"User-Agent": IPHONE}).get(pixel).status_code == 200

    hooks = wait_until(lambda: len(_of_type(receiver, "Open")()) == 2 and
                       _of_type(receiver, "Open")(), message="two Open webhooks")
    hook = next(h for h in hooks if h["FirstOpen"])
    assert set(hook) == RECORD_KEYS | {"FirstOpen", "ReadSeconds"}
    assert hook["MessageID"] == message_id and hook["Recipient"] == "ann@example.net"
    assert hook["Tag"] == "welcome" and hook["Metadata"] == {"order": "42"}
    assert hook["MessageStream"] == "outbound" and hook["ReceivedAt"].endswith("Z")
    assert hook["Client"] == {"Name": "Chrome 120.0.0", "Company": "Google", "Family": "Chrome"}
    assert hook["OS"]["Family"] == "Mac OS X" and hook["Platform"] == "Desktop"
    assert hook["UserAgent"] == CHROME and hook["Geo"]["IP"] == "127.0.0.1"
    assert [h["FirstOpen"] for h in hooks].count(False) == 1

    opened = [e for e in live.events(message_id) if e["Type"] == "Opened"]
    assert len(opened) == 2 and opened[0]["Recipient"] == "ann@example.net"
    assert opened[0]["Details"] == {"Summary": "Email opened with Chrome 120.0.0"}

    everything = live.api.get("/messages/outbound/opens", params={"count": 10}).json()
    assert everything["TotalCount"] == 2 and len(everything["Opens"]) == 2
    assert set(everything["Opens"][0]) == RECORD_KEYS | {"FirstOpen", "ReadSeconds"}
    assert everything["Opens"][0]["Platform"] == "Mobile"  # newest first
    mine = live.api.get(f"/messages/outbound/opens/{message_id}").json()
    assert mine["TotalCount"] == 2
    for params, total in (({"recipient": "ANN@example.net"}, 2), ({"platform": "mobile"}, 1),
                          ({"clientName": "Chrome 120.0.0"}, 1), ({"osFamily": "iOS"}, 1),
                          ({"tag": "welcome"}, 2), ({"tag": "other"}, 0),
                          ({"messagestream": "broadcast"}, 0), ({"country": "Serbia"}, 0),
                          ({"recipient": "bob@example.net"}, 0)):
        found = live.api.get("/messages/outbound/opens", params={"count": 10, **params}).json()
        assert found["TotalCount"] == total, params
    assert live.api.get("/messages/outbound/opens/0190c0de-7b1e-7aaa-8bbb-123456789abc"
                        ).status_code == 422


def test_post_first_open_only_posts_the_first_open_alone(
        live: Live, receiver: WebhookReceiver) -> None:
    _hook(live, receiver, Open={"Enabled": True, "PostFirstOpenOnly": True})
    message_id = live.send("ann@example.net", TrackOpens=True)
    [pixel] = tracked(live.received("ann@example.net")["text/html"])
    for _ in range(3):
        assert live.public.get(pixel).status_code == 200
    wait_until(lambda: live.api.get(f"/messages/outbound/opens/{message_id}"
                                    ).json()["TotalCount"] == 3, message="three opens")
    deliveries = live.api.get("/webhook-deliveries").json()["Deliveries"]
    assert [d["RecordType"] for d in deliveries] == ["Open"]
    assert wait_until(_of_type(receiver, "Open"), message="the Open webhook")[0]["FirstOpen"]


def test_a_click_redirects_to_its_link_and_is_recorded(
        live: Live, receiver: WebhookReceiver) -> None:
    _hook(live, receiver, Click={"Enabled": True})
    message_id = live.send("ann@example.net", TrackLinks="HtmlAndText")
    bodies = live.received("ann@example.net")
    [text_link] = tracked(bodies["text/plain"])
    [html_link] = tracked(bodies["text/html"])
    assert "shop.example.com" not in bodies["text/plain"] + bodies["text/html"]
    assert "<img" not in bodies["text/html"]  # no open tracking asked for

    html_click = live.public.get(html_link)
    assert html_click.status_code == 302
    assert html_click.headers["location"] == "https://shop.example.com/cart?a=1&b=2"
    text_click = live.public.get(text_link)
    assert text_click.headers["location"] == "https://shop.example.com/text"

    hooks = wait_until(lambda: len(_of_type(receiver, "Click")()) == 2 and
                       _of_type(receiver, "Click")(), message="two Click webhooks")
    by_place = {h["ClickLocation"]: h for h in hooks}
    assert set(by_place) == {"HTML", "Text"}
    assert set(by_place["HTML"]) == RECORD_KEYS | {"ClickLocation", "OriginalLink"}
    assert by_place["HTML"]["OriginalLink"] == "https://shop.example.com/cart?a=1&b=2"
    assert by_place["Text"]["MessageID"] == message_id

    clicked = [e for e in live.events(message_id) if e["Type"] == "LinkClicked"]
    assert {e["Details"]["ClickLocation"] for e in clicked} == {"HTML", "Text"}
    assert {e["Details"]["Link"] for e in clicked} == {"https://shop.example.com/cart?a=1&b=2",
                                                       "https://shop.example.com/text"}
    assert all(e["Details"]["Summary"].startswith("Link clicked with") for e in clicked)
    search = live.api.get("/messages/outbound/clicks").json()
    assert search["TotalCount"] == 2 and {c["RecordType"] for c in search["Clicks"]} == {"Click"}
    assert live.api.get(f"/messages/outbound/clicks/{message_id}").json()["TotalCount"] == 2
    assert live.api.get("/messages/outbound/opens").json()["TotalCount"] == 0


def test_tampered_or_unknown_tokens_are_404_and_never_redirect(live: Live) -> None:
    live.send("ann@example.net", TrackOpens=True, TrackLinks="HtmlOnly")
    [link, pixel] = tracked(live.received("ann@example.net")["text/html"])
    token = link.rsplit("/", 1)[1]
    kind_link, recipient, message, mac = token.split(".")
    forged = [
        f"{kind_link[0]}{int(kind_link[1:]) + 1}.{recipient}.{message}.{mac}",  # next link
        f"{kind_link}.{int(recipient) + 1}.{message}.{mac}",                    # next recipient
        f"{kind_link}.{recipient}.{message}.{'0' * 32}",                        # no MAC
        "https%3A%2F%2Fevil.example.com", "c0.1.x.y", "",
    ]
    for bad in forged:
        answer = live.public.get(f"/track/click/{bad}")
        assert answer.status_code == 404, bad
        assert "location" not in answer.headers
    # A click token is not an open's, nor an open token a click's.
    assert live.public.get(f"/track/open/{token}").status_code == 404
    assert live.public.get(link.replace("/click/", "/open/")).status_code == 404
    assert live.public.get(pixel.replace("/open/", "/click/")).status_code == 404
    assert live.public.get(link).status_code == 302  # the genuine one still works
    # No token costs an open or a click.
    assert live.api.get("/messages/outbound/clicks").json()["TotalCount"] == 1
    assert live.api.get("/messages/outbound/opens").json()["TotalCount"] == 0


def _settings(live: Live, **fields: Any) -> None:
    assert live.api.put("/server", json=fields).status_code == 200


def test_precedence_follows_postmark(live: Live) -> None:
    # Nothing asked for anywhere: the message goes out as it was sent.
    live.send("plain@example.net")
    plain = live.received("plain@example.net")
    assert tracked(plain["text/html"] + plain["text/plain"]) == []
    assert "https://shop.example.com/cart?a=1&amp;b=2" in plain["text/html"]

    # The server's open tracking wins over a message's TrackOpens false (Postmark: no
    # way to turn it off per message); its link mode applies when the message names none.
    _settings(live, TrackOpens=True, TrackLinks="HtmlOnly")
    live.send("server@example.net", TrackOpens=False)
    server = live.received("server@example.net")
    assert len(tracked(server["text/html"])) == 2  # the link and the pixel
    assert tracked(server["text/plain"]) == []

    # A message's own link mode wins over the server's.
    live.send("message@example.net", TrackLinks="TextOnly")
    own = live.received("message@example.net")
    assert len(tracked(own["text/plain"])) == 1
    assert [u for u in tracked(own["text/html"]) if "/click/" in u] == []

    # The server's settings off again: only what a message asks for is tracked.
    _settings(live, TrackOpens=False, TrackLinks="None")
    live.send("again@example.net", TrackLinks="None")
    again = live.received("again@example.net")
    assert tracked(again["text/html"] + again["text/plain"]) == []


def test_a_sandbox_server_keeps_mail_untracked_and_tracking_routes_need_no_token(
        live: Live) -> None:
    sandbox = live.running.api()
    answer = sandbox.post("/email", json={"From": "a@example.org", "To": "b@example.net",
                                          "Subject": "x", "HtmlBody": HTML, "TrackOpens": True})
    assert answer.status_code == 200
    anonymous = live.running.client()
    assert anonymous.get("/track/open/o0.1.0190c0de-7b1e-7aaa-8bbb-123456789abc."
                         + "0" * 32).status_code == 404
    assert anonymous.get("/messages/outbound/opens").status_code == 401


def test_the_servers_open_and_click_hook_urls_get_the_records(
        live: Live, receiver: WebhookReceiver) -> None:
    """OpenHookUrl (with the server's PostFirstOpenOnly) and ClickHookUrl, the legacy
    hooks, as BounceHookUrl and DeliveryHookUrl are."""
    _settings(live, OpenHookUrl=receiver.url, ClickHookUrl=receiver.url,
              PostFirstOpenOnly=True)
    message_id = live.send("ann@example.net", TrackOpens=True, TrackLinks="HtmlOnly")
    [link, pixel] = tracked(live.received("ann@example.net")["text/html"])
    assert live.public.get(pixel).status_code == 200
    assert live.public.get(pixel).status_code == 200
    assert live.public.get(link).status_code == 302
    wait_until(_of_type(receiver, "Click"), message="the Click record")
    [opened] = wait_until(_of_type(receiver, "Open"), message="the Open record")
    assert opened["FirstOpen"] and opened["MessageID"] == message_id
    deliveries = live.api.get("/webhook-deliveries").json()["Deliveries"]
    assert sorted(d["RecordType"] for d in deliveries) == ["Click", "Open"]
    assert all(d["WebhookID"] is None for d in deliveries)
