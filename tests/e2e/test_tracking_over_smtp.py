"""Open and link tracking end to end: a message submitted over SMTP with X-PM-TrackOpens
and X-PM-TrackLinks reaches a real MX peer with its recipient's pixel and tracked links
pointing at the running server's API (PUBLIC_URL unset: its own URL); fetching them over
HTTP answers the GIF and the redirect, a real webhook receiver gets Postmark's Open and
Click records, and postmark-python and postmarker read the opens and clicks searches."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from postmark import sync
from postmark.models.outbound.enums import MessageEventType
from postmarker.core import PostmarkClient

from tests.support.dns_server import ZoneServer
from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    smtp_send,
    start_server,
    test_settings,
    wait_until,
)
from tests.support.smtp_peer import RulePeer

ZONE = {"example.net": {"MX": ["10 mx1.example.net."]}, "mx1.example.net": {"A": ["127.0.0.1"]}}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[tuple[RunningServer, str, RulePeer]]:
    peer = RulePeer().start()
    zone = ZoneServer(ZONE).start()
    running = start_server(test_settings(
        database_url, tmp_path / "data", mx_port=peer.port, dns_nameservers=("127.0.0.1",),
        dns_port=zone.port, delivery_timeout_seconds=10, delivery_allow_private_mx=True))
    try:
        created = running.api(account=True).post(
            "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
        yield running, created["ApiTokens"][0], peer
    finally:
        running.stop()
        zone.stop()
        peer.stop()


def _message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "app@example.com"
    msg["To"] = to
    msg["Subject"] = "Your order"
    msg["X-PM-Tag"] = "orders"
    msg["X-PM-TrackOpens"] = "true"
    msg["X-PM-TrackLinks"] = "HtmlAndText"
    msg.set_content("Track it at https://shop.example.com/orders/7\n")
    msg.add_alternative('<html><body><p>Your order: <a href="https://shop.example.com/o/7">'
                        "view</a></p></body></html>\n", subtype="html")
    return msg


def test_opens_and_clicks_of_smtp_mail_reach_webhooks_and_the_sdk(
        live: tuple[RunningServer, str, RulePeer], receiver: WebhookReceiver) -> None:
    running, token, peer = live
    api = running.api(token)
    assert api.post("/webhooks", json={"Url": receiver.url, "Triggers": {
        "Open": {"Enabled": True}, "Click": {"Enabled": True}}}).status_code == 200
    code, message_id = smtp_send(running, _message("reader@example.net"),
                                 ["reader@example.net"], sender="app@example.com", token=token)
    assert code == 250

    got = wait_until(lambda: peer.messages_to("reader@example.net"), timeout=30,
                     message="the peer received the tracked copy")
    parsed = email.message_from_bytes(got[0].content, policy=email.policy.default)
    bodies = {part.get_content_type(): part.get_content()  # type: ignore[attr-defined]
              for part in parsed.walk() if not part.is_multipart()}
    base = re.escape(running.api_url)
    [pixel] = re.findall(rf'<img src="({base}/track/open/[^"]+)"', bodies["text/html"])
    [html_link] = re.findall(rf'href="({base}/track/click/[^"]+)"', bodies["text/html"])
    [text_link] = re.findall(rf"({base}/track/click/\S+)", bodies["text/plain"])
    assert "shop.example.com" not in bodies["text/html"] + bodies["text/plain"]

    with httpx.Client(headers={"User-Agent": FIREFOX}, timeout=30) as browser:
        opened = browser.get(pixel)
        assert opened.status_code == 200 and opened.headers["content-type"] == "image/gif"
        clicked = browser.get(html_link)
        assert clicked.status_code == 302
        assert clicked.headers["location"] == "https://shop.example.com/o/7"
        assert browser.get(text_link).headers["location"] == \
            "https://shop.example.com/orders/7"
        assert browser.get(html_link[:-3] + "000").status_code == 404

    hooks = wait_until(lambda: len(receiver.bodies()) >= 3 and receiver.bodies(),
                       timeout=30, message="Open and two Click webhooks")
    [open_hook] = [h for h in hooks if h["RecordType"] == "Open"]
    assert open_hook["FirstOpen"] is True and open_hook["MessageID"] == message_id
    assert open_hook["Tag"] == "orders" and open_hook["Recipient"] == "reader@example.net"
    assert open_hook["Client"]["Family"] == "Firefox" and open_hook["Platform"] == "Desktop"
    clicks = sorted((h["ClickLocation"], h["OriginalLink"]) for h in hooks
                    if h["RecordType"] == "Click")
    assert clicks == [("HTML", "https://shop.example.com/o/7"),
                      ("Text", "https://shop.example.com/orders/7")]

    with sync.ServerClient(token, retries=0, timeout=30, base_url=running.api_url) as client:
        opens = client.outbound.list_opens(count=10)
        assert opens.total == 1
        [read] = opens.items
        assert (read.message_id, read.recipient, read.platform) == (
            message_id, "reader@example.net", "Desktop")
        assert read.client.family == "Firefox" and read.geo.ip == "127.0.0.1"
        assert client.outbound.list_message_opens(message_id).total == 1
        clicked_page = client.outbound.list_clicks(count=10, client_family="firefox")
        assert clicked_page.total == 2
        assert {c.original_link for c in clicked_page.items} == {
            "https://shop.example.com/o/7", "https://shop.example.com/orders/7"}
        assert client.outbound.list_message_clicks(message_id).total == 2
        assert client.outbound.list_clicks(os_family="Windows").total == 0
        details = client.outbound.get(message_id)
    # postmarker sends Postmark's reference spelling of the filters (client_family).
    marker = PostmarkClient(server_token=token, root_api_url=running.api_url + "/", timeout=30)
    try:
        [seen] = marker.messages.outbound.opens.all(client_family="Firefox", platform="desktop")
        assert seen.MessageID == message_id and seen.FirstOpen is True
        assert marker.messages.outbound.opens.all(os_family="iOS") == []
        assert marker.messages.outbound.opens.get(message_id)["TotalCount"] == 1
    finally:
        marker.session.close()
    kinds = {event.type for event in details.message_events}
    assert {MessageEventType.DELIVERED, MessageEventType.OPENED,
            MessageEventType.LINK_CLICKED} <= kinds
