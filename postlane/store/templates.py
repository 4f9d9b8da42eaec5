"""A server's templates: Standard ones and Layouts, found by id or by alias (aliases are
unique per server regardless of case, kept lower-cased in ``alias_key``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain.records import Template
from postlane.store.schema import templates, utcnow


def _template(row: RowMapping) -> Template:
    return Template(**{key: value for key, value in row.items() if key != "alias_key"})


def _keyed(values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "alias" in out:
        out["alias_key"] = out["alias"].lower() if out["alias"] else None
    return out


def create(conn: Connection, server_id: int, values: Mapping[str, Any]) -> int:
    return int(conn.execute(templates.insert().values(server_id=server_id, created_at=utcnow(),
                                                      active=True, **_keyed(values))
                            .returning(templates.c.id)).scalar_one())


def get(conn: Connection, server_id: int, id_or_alias: int | str) -> Template | None:
    """By id when ``id_or_alias`` is an int, else by alias (any case)."""
    match = (templates.c.id == id_or_alias if isinstance(id_or_alias, int)
             else templates.c.alias_key == id_or_alias.lower())
    row = conn.execute(sa.select(templates).where(templates.c.server_id == server_id, match)
                       ).mappings().first()
    return _template(row) if row is not None else None


def by_ids(conn: Connection, ids: list[int]) -> dict[int, Template]:
    """The templates with these ids (any server's), in one query: the accepting
    transaction's check that cached templates are still what a send was rendered from."""
    if not ids:
        return {}
    rows = conn.execute(sa.select(templates).where(templates.c.id.in_(ids))).mappings()
    return {row["id"]: _template(row) for row in rows}


def listing(conn: Connection, server_id: int, *, template_type: str | None = None,
            layout: str | None = None, count: int = 100, offset: int = 0
            ) -> tuple[int, list[Template]]:
    """One page of templates in id order and how many match in all."""
    where = [templates.c.server_id == server_id]
    if template_type:
        where.append(templates.c.template_type == template_type)
    if layout:
        where.append(sa.func.lower(templates.c.layout_template) == layout.lower())
    total = int(conn.execute(sa.select(sa.func.count()).select_from(templates).where(*where)
                             ).scalar_one())
    rows = conn.execute(sa.select(templates).where(*where).order_by(templates.c.id)
                        .limit(count).offset(offset)).mappings()
    return total, [_template(row) for row in rows]


def update(conn: Connection, template_id: int, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(templates.update().where(templates.c.id == template_id)
                     .values(**_keyed(values)))


def delete(conn: Connection, template_id: int) -> None:
    conn.execute(templates.delete().where(templates.c.id == template_id))


def count(conn: Connection, server_id: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(templates)
                            .where(templates.c.server_id == server_id)).scalar_one())


def layout_users(conn: Connection, server_id: int, alias: str) -> int:
    """How many Standard templates of the server name the layout ``alias``."""
    return int(conn.execute(
        sa.select(sa.func.count()).select_from(templates)
        .where(templates.c.server_id == server_id,
               sa.func.lower(templates.c.layout_template) == alias.lower())).scalar_one())


def relink_layout(conn: Connection, server_id: int, old: str, new: str | None) -> None:
    """A Layout's alias changed: the Standard templates naming it follow."""
    conn.execute(templates.update()
                 .where(templates.c.server_id == server_id,
                        sa.func.lower(templates.c.layout_template) == old.lower())
                 .values(layout_template=new))
