"""The templates store and its rules' service on both backends: lookups by id and by alias
in any case, one alias per server, listing filters and paging, and a Layout's alias
change followed by the templates that use it."""

from __future__ import annotations

import pytest

from postlane.domain.errors import LayoutInUse, NotFound, TemplateInvalid
from postlane.services import templates as service
from postlane.services.templates import TemplateFields
from postlane.store import servers as server_store
from postlane.store import templates
from postlane.store.database import Database

LAYOUT = "<b>{{{ @content }}}</b>"


def _server(db: Database) -> int:
    with db.write() as conn:
        return server_store.create(conn, "Templates store")


def test_alias_lookup_uniqueness_and_relinking(db: Database) -> None:
    sid = _server(db)
    with db.write() as conn:
        base = service.create(conn, sid, TemplateFields(name="L", alias="Base",
                                                        template_type="layout",
                                                        html_body=LAYOUT))
        child = service.create(conn, sid, TemplateFields(name="S", subject="s",
                                                         text_body="t",
                                                         layout_template="base"))
    with db.read() as conn:
        assert templates.get(conn, sid, "BASE") == base
        assert templates.get(conn, sid, base.id) == base
        assert templates.get(conn, sid + 10**6, base.id) is None  # another server's
        total, page = templates.listing(conn, sid, layout="BASE")
        assert total == 1 and page[0].id == child.id
        total, page = templates.listing(conn, sid, count=1, offset=1)
        assert total == 2 and [t.id for t in page] == [child.id]
    with db.write() as conn, pytest.raises(TemplateInvalid):
        service.create(conn, sid, TemplateFields(name="X", subject="s", text_body="t",
                                                 alias="bASE"))
    with db.write() as conn, pytest.raises(LayoutInUse):
        service.delete(conn, sid, "base")
    with db.write() as conn:
        service.edit(conn, sid, base.id, TemplateFields(alias="frame"))
    with db.read() as conn:
        moved = templates.get(conn, sid, child.id)
        assert moved is not None and moved.layout_template == "frame"
    with db.write() as conn:
        service.delete(conn, sid, child.id)
        service.delete(conn, sid, "frame")
    with db.read() as conn, pytest.raises(NotFound):
        service.find(conn, sid, base.id)
