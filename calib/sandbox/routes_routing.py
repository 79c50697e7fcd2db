"""Routing look-ups: wrap-up codes and queues by id and name (docs/genesys-deeper.md §1).

``GET /api/v2/routing/wrapupcodes`` (``WrapupCodeEntityListing``) and ``GET
/api/v2/routing/queues`` (``QueueEntityListing``) with the query parameters the official SDK
sends (``RoutingApi.get_routing_wrapupcodes``, ``get_routing_queues``): ``pageSize``,
``pageNumber``, ``name`` (leading or trailing ``*`` allowed), ``id`` (a list); and one of each by id.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Any

from .http import Request, not_found
from .render import listing

if TYPE_CHECKING:  # pragma: no cover - the server imports the routes
    from .server import SandboxServer

ID = r"([^/]+)"
DIVISION = {"id": "division-home", "name": "Home", "selfUri": "/api/v2/authorization/divisions/"
                                                              "division-home"}


def _entity(kind: str, name: str, entity_id: str) -> dict[str, Any]:
    return {"id": entity_id, "name": name, "division": DIVISION,
            "selfUri": f"/api/v2/routing/{kind}/{entity_id}"}


def _entities(server: SandboxServer, kind: str) -> list[dict[str, Any]]:
    store = server.org.conversations
    pairs = store.queue_ids() if kind == "queues" else store.wrap_up_code_ids()
    return [_entity(kind, name, entity_id) for name, entity_id in sorted(pairs.items())]


def _list(server: SandboxServer, req: Request, kind: str) -> tuple[int, Any]:
    items = _entities(server, kind)
    ids = req.param_list("id")
    if ids:
        items = [e for e in items if e["id"] in ids]
    name = req.param("name")
    if name:
        items = [e for e in items if fnmatch.fnmatchcase(e["name"].lower(), name.lower())]
    number = req.int_param("pageNumber", 1)
    size = req.int_param("pageSize", 25, high=500)
    return 200, listing(items, path=f"/api/v2/routing/{kind}", page_number=number,
                        page_size=size, params={"id": ",".join(ids), "name": name})


def _one(server: SandboxServer, kind: str, entity_id: str) -> tuple[int, Any]:
    for entity in _entities(server, kind):
        if entity["id"] == entity_id:
            return 200, entity
    raise not_found(f"{'Queue' if kind == 'queues' else 'Wrap-up code'} {entity_id}")


def get_wrapupcodes(server: SandboxServer, req: Request) -> tuple[int, Any]:
    return _list(server, req, "wrapupcodes")


def get_wrapupcode(server: SandboxServer, req: Request, code_id: str) -> tuple[int, Any]:
    return _one(server, "wrapupcodes", code_id)


def get_queues(server: SandboxServer, req: Request) -> tuple[int, Any]:
    return _list(server, req, "queues")


def get_queue(server: SandboxServer, req: Request, queue_id: str) -> tuple[int, Any]:
    return _one(server, "queues", queue_id)


ROUTES = [
    ("GET", re.compile(r"/api/v2/routing/wrapupcodes"), get_wrapupcodes),
    ("GET", re.compile(rf"/api/v2/routing/wrapupcodes/{ID}"), get_wrapupcode),
    ("GET", re.compile(r"/api/v2/routing/queues"), get_queues),
    ("GET", re.compile(rf"/api/v2/routing/queues/{ID}"), get_queue),
]
