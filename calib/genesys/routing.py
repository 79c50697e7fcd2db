"""Routing look-ups: wrap-up codes and queues, by name (docs/genesys-deeper.md §1).

The conversation-details API returns queue and wrap-up code *ids*; a focus profile names them
(``complaint``, ``Billing``). :meth:`RoutingMixin.routing_names` lists both once per client and
keeps the id → name map, so a selection asks for it once however many conversations it reads.

Endpoints (official Python SDK ``RoutingApi``): ``GET /api/v2/routing/wrapupcodes``
(``get_routing_wrapupcodes``: ``pageSize``, ``pageNumber``, ``name``, ``id``…; returns
``WrapupCodeEntityListing`` of ``WrapupCode {id, name, division, description, …}``) and ``GET
/api/v2/routing/queues`` (``get_routing_queues``; ``QueueEntityListing`` of ``Queue {id, name,
…}``). Permissions: ``routing:wrapupCode:view`` and ``routing:queue:view``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from calib.genesys import errors
from calib.genesys._util import check_page_size, expect_dict

log = logging.getLogger("calib.genesys")

WRAPUP_CODES = "/api/v2/routing/wrapupcodes"
QUEUES = "/api/v2/routing/queues"
MAX_PAGE_SIZE = 100


class RoutingMixin:
    """Wrap-up code and queue endpoints of :class:`calib.genesys.GenesysClient`."""

    paginate: Any

    def iter_wrap_up_codes(self, *, page_size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Iterate over the org's wrap-up codes (``id``, ``name``, …)."""
        check_page_size(page_size, MAX_PAGE_SIZE)
        items = self.paginate(WRAPUP_CODES, params={"pageSize": page_size})
        return (expect_dict(c, f"GET {WRAPUP_CODES}", required=("id",)) for c in items)

    def iter_queues(self, *, page_size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Iterate over the org's queues (``id``, ``name``, …)."""
        check_page_size(page_size, MAX_PAGE_SIZE)
        items = self.paginate(QUEUES, params={"pageSize": page_size})
        return (expect_dict(q, f"GET {QUEUES}", required=("id",)) for q in items)

    def routing_names(self, *, refresh: bool = False) -> dict[str, str]:
        """Display names of every queue and wrap-up code, by id; listed once per client.

        An OAuth client without the routing view permissions gets the names it may read (a
        warning on the ``calib.genesys`` logger says which list was refused), so a selection
        still runs, matching its patterns against ids as before.

        Parameters
        ----------
        refresh : bool
            List again instead of answering from the cache.

        Returns
        -------
        dict
            Id → name of queues and wrap-up codes (ids are UUIDs, so the two never collide).
        """
        cached = getattr(self, "_routing_names", None)
        if cached is not None and not refresh:
            return dict(cached)
        names: dict[str, str] = {}
        for what, listing in (("wrap-up codes", self.iter_wrap_up_codes),
                              ("queues", self.iter_queues)):
            try:
                for item in listing():
                    if item.get("name"):
                        names[str(item["id"])] = str(item["name"])
            except (errors.PermissionDeniedError, errors.NotFoundError) as exc:
                log.warning("routing_names: the %s cannot be listed (%s); their patterns are "
                            "matched against ids. Grant routing:wrapupCode:view and "
                            "routing:queue:view to the OAuth client.", what, exc.status)
        self._routing_names = names
        return dict(names)
