"""The templates that sends name, kept in memory so POST /email/withTemplate needs no read
of its own (the way identity.SendTokens keeps server tokens).

An entry is a guess, as a cached token is: a send made from it carries the records it was
rendered from (Submission.rendered_from), and the transaction that would accept it reads
them again (services.sending.send_many, one query for a whole group commit). A template
or layout edited or deleted meanwhile, by this process or any other, makes that send
TemplateChanged: nothing is stored, the entry is forgotten, and the send is rendered
again from the database. Edits made through this process's API forget the server's
entries at once (api.routers.templates), so the next send does not even try the old one.
"""

from __future__ import annotations

from postlane.services import template_sending
from postlane.services.template_sending import Sources
from postlane.store.database import Database

#: An entry's key: the server, and the template's id or lower-cased alias.
Key = tuple[int, int | str]


def key(server_id: int, id_or_alias: int | str) -> Key:
    """Aliases are matched regardless of case (store.templates)."""
    return (server_id, id_or_alias.lower() if isinstance(id_or_alias, str) else id_or_alias)


class TemplateCache:
    """Sources (a template and its layout) by server and id or alias, at most
    ``capacity`` of them; only templates that can be sent are kept."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._known: dict[Key, Sources] = {}

    def cached(self, server_id: int, id_or_alias: int | str) -> Sources | None:
        return self._known.get(key(server_id, id_or_alias))

    def remember(self, server_id: int, id_or_alias: int | str, found: Sources) -> None:
        if len(self._known) >= self.capacity:
            self._known.clear()
        self._known[key(server_id, id_or_alias)] = found

    def forget(self, server_id: int, id_or_alias: int | str) -> None:
        self._known.pop(key(server_id, id_or_alias), None)

    def forget_server(self, server_id: int) -> None:
        """Every entry of a server: an edit of one template can change others' sends (a
        Layout is part of every template that names it; an alias can move)."""
        for stale in [k for k in self._known if k[0] == server_id]:
            del self._known[stale]


def read(db: Database, server_id: int, template_id: int | None,
         alias: str | None) -> Sources:
    """A cache miss: the template and its layout from the database (blocking)."""
    with db.read() as conn:
        return template_sending.sources(conn, server_id, template_id, alias)
