"""The Templates API through both official Python SDKs against a real Postlane:
postmark-python (its pydantic models are the strictest reader of every answer, push
included) and postmarker (CRUD and validate; it has no push)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postmark import PostmarkAPIException, sync
from postmark.models.templates.enums import TemplateAction, TemplateType, TemplateTypeFilter
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError
from postmarker.models.templates import Template as PostmarkerTemplate

from tests.support.api_servers import create_server
from tests.support.sdk_seed import Seeded

LAYOUT_HTML = "<html><body>{{{ @content }}}</body></html>"


@pytest.fixture(scope="module")
def postmarker(seeded: Seeded) -> Iterator[PostmarkClient]:
    opened = PostmarkClient(server_token=seeded.server.server_token,
                            root_api_url=seeded.server.api_url + "/", timeout=30)
    yield opened
    opened.session.close()


def test_postmark_python_crud_validate_and_push(client: sync.SyncServerClient,
                                                 account: sync.SyncAccountClient,
                                                 seeded: Seeded) -> None:
    layout = client.templates.create({"Name": "Base", "Alias": "sdk-base",
                                      "TemplateType": "Layout", "HtmlBody": LAYOUT_HTML})
    assert layout.template_type is TemplateType.LAYOUT and layout.active
    made = client.templates.create({"Name": "Hello", "Alias": "sdk-hello",
                                    "Subject": "Hi {{name}}", "HtmlBody": "<p>{{name}}</p>",
                                    "LayoutTemplate": "sdk-base"})
    got = client.templates.get("sdk-hello")
    assert got.template_id == made.template_id and got.layout_template == "sdk-base"
    assert got.associated_server_id == seeded.server.server_id
    edited = client.templates.edit(made.template_id, {"TextBody": "Hello {{name}}"})
    assert edited.name == "Hello"
    page = client.templates.list(template_type=TemplateTypeFilter.LAYOUT)
    assert [t.alias for t in page.items] == ["sdk-base"]
    checked = client.templates.validate({"Subject": "Hi {{name}}", "HtmlBody": "{{name}}",
                                         "TestRenderModel": {"name": "Ann"}})
    assert checked.all_content_is_valid and checked.subject is not None
    assert checked.subject.rendered_content == "Hi Ann"
    assert set(checked.suggested_template_model or {}) == {"name"}
    with pytest.raises(PostmarkAPIException) as raised:
        client.templates.delete("sdk-base")  # in use by sdk-hello
    assert raised.value.error_code == 1130

    # the SDK's account client has no servers API: the destination is made directly
    destination = create_server(seeded.server.api(account=True), Name="SDK template push")
    pushed = account.templates.push({"SourceServerID": str(seeded.server.server_id),
                                     "DestinationServerID": str(destination["ID"]),
                                     "PerformChanges": True})
    assert {(t.action, t.alias) for t in pushed.templates} >= {
        (TemplateAction.CREATE, "sdk-base"), (TemplateAction.CREATE, "sdk-hello")}
    assert client.templates.delete(made.template_id).error_code == 0


def test_postmarker_crud_and_validate(postmarker: PostmarkClient) -> None:
    made = postmarker.templates.create(Name="Marker", Subject="S {{x}}", TextBody="T {{x}}",
                                       Alias="marker-1")
    assert isinstance(made, PostmarkerTemplate) and made.TemplateId > 0
    fetched = postmarker.templates.get(made.TemplateId)
    assert fetched.Alias == "marker-1" and fetched.TextBody == "T {{x}}"
    postmarker.templates.edit(made.TemplateId, Name="Marker 2")  # the others sent as null
    fetched = postmarker.templates.get(made.TemplateId)
    assert fetched.Name == "Marker 2" and fetched.Subject == "S {{x}}"
    assert made.TemplateId in [t.TemplateId for t in postmarker.templates.all()]
    result = postmarker.templates.validate(Subject="{{x}}", TextBody="{{#each y}}",
                                           TestRenderModel={"x": "1"})
    assert result["AllContentIsValid"] is False
    assert result["Subject"]["RenderedContent"] == "1"
    assert result["TextBody"]["ValidationErrors"][0]["Line"] == 1
    assert postmarker.templates.delete(made.TemplateId) == f"Template {made.TemplateId} removed."
    with pytest.raises(ClientError) as raised:
        postmarker.templates.get(made.TemplateId)
    assert raised.value.error_code == 1101


def test_postmark_python_sends_with_templates(client: sync.SyncServerClient,
                                              seeded: Seeded) -> None:
    client.templates.create({"Name": "Receipt", "Alias": "sdk-receipt",
                             "Subject": "Receipt {{number}}",
                             "HtmlBody": "<p>{{#each lines}}{{item}};{{/each}}</p>"})
    sent = client.outbound.send_with_template({
        "From": "shop@example.com", "To": "buyer@example.com", "TemplateAlias": "sdk-receipt",
        "TemplateModel": {"number": 7, "lines": [{"item": "tea"}, {"item": "cake"}]}})
    assert sent.error_code == 0 and sent.to == "buyer@example.com"
    details = client.outbound.get(sent.message_id)
    assert details.subject == "Receipt 7" and "tea;cake;" in (details.html_body or "")
    # (a refused item's answer is only ErrorCode and Message, which postmark-python's
    # SendResponse cannot read: the refusals are checked in tests/api and with postmark.js)
    batch = client.outbound.send_batch_with_template([
        {"From": "shop@example.com", "To": f"{name}@example.com", "TemplateAlias": "sdk-receipt",
         "TemplateModel": {"number": n, "lines": []}} for n, name in enumerate("ab")])
    assert [(r.error_code, r.to) for r in batch] == [(0, "a@example.com"), (0, "b@example.com")]
