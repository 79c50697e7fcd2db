"""Lazy pagination over the three paging styles the workbench meets.

* Entity listings (``GET``): ``pageNumber``/``pageSize`` with ``nextUri``. ``total`` and
  ``pageCount`` can be wrong on big listings (``genesys-api.md`` §9.2), so ``nextUri`` leads; the
  page count is only a fallback for listings that omit ``nextUri``.
* Query bodies (``POST``, analytics details): ``paging.pageNumber`` in the JSON body, stopping on a
  short page or at ``totalHits``.
* Cursors (async analytics job results): ``cursor`` until the response has none.

Every function is a generator: no request is made until the first item is asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from calib.genesys import errors
from calib.genesys._util import encode_params, expect_dict, expect_list

__all__ = ["iter_entity_pages", "iter_body_pages", "iter_cursor_pages"]

RequestFn = Callable[..., Any]


def _split_uri(uri: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(uri)
    path = parts.path if not (parts.scheme or parts.netloc) else f"{parts.scheme}://{parts.netloc}{parts.path}"
    return path, dict(parse_qsl(parts.query, keep_blank_values=True))


def iter_entity_pages(
    request: RequestFn, path: str, params: Mapping[str, Any] | None, item_key: str
) -> Iterator[dict[str, Any]]:
    """Yield the items of a ``GET`` entity listing, page after page.

    Parameters
    ----------
    request : callable
        ``GenesysClient.request``.
    path : str
        Listing path.
    params : Mapping, optional
        Query parameters; ``pageNumber`` defaults to 1.
    item_key : str
        The array field holding the items (``"entities"``).

    Yields
    ------
    dict
        One item at a time.
    """
    base_params = encode_params(params)
    base_params.setdefault("pageNumber", "1")
    current_path, current_params = path, dict(base_params)
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    endpoint = f"GET {path}"
    while True:
        key = (current_path, tuple(sorted(current_params.items())))
        if key in seen:
            raise errors.UnexpectedResponseError(
                f"{endpoint} returned a nextUri that points back to a page already read; stopping "
                "instead of looping.", endpoint=endpoint, field="nextUri",
            )
        seen.add(key)
        body = request("GET", current_path, params=current_params)
        items = expect_list(body, endpoint, item_key)
        yield from items
        if not items:
            return
        next_uri = body.get("nextUri")
        if next_uri:
            if not isinstance(next_uri, str):
                raise errors.UnexpectedResponseError(
                    f"{endpoint} returned a non-string nextUri.", endpoint=endpoint, field="nextUri"
                )
            next_path, next_params = _split_uri(next_uri)
            # Keep parameters a nextUri might drop (expand, filters); the nextUri's own win.
            current_path, current_params = next_path, {**base_params, **next_params}
            continue
        page_number = body.get("pageNumber")
        page_count = body.get("pageCount")
        if isinstance(page_number, int) and isinstance(page_count, int) and page_number < page_count:
            current_params = {**current_params, "pageNumber": str(page_number + 1)}
            continue
        return


def iter_body_pages(
    request: RequestFn, path: str, body: Mapping[str, Any], item_key: str, *, page_size: int,
    max_results: int | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(totalHits or -1, item)`` for a ``POST`` query paged by ``paging`` in the body.

    The request is sent as idempotent: only read-only queries are paged this way.

    Parameters
    ----------
    request : callable
        ``GenesysClient.request``.
    path : str
        Query path.
    body : Mapping
        Query body; its ``paging`` is replaced.
    item_key : str
        The array field holding the items (``"conversations"``).
    page_size : int
        Items per page.
    max_results : int, optional
        Depth limit of the endpoint; paging beyond it raises instead of sending a request the API
        would refuse.
    """
    query = copy.deepcopy(dict(body))
    page_number = 1
    endpoint = f"POST {path}"
    while True:
        if max_results is not None and page_number * page_size > max_results:
            raise errors.GenesysError(
                f"{endpoint} would page past its {max_results}-result depth limit; query a shorter "
                "interval or use an async job.", method="POST", path=path,
            )
        query["paging"] = {"pageSize": page_size, "pageNumber": page_number}
        response = expect_dict(request("POST", path, json=query, idempotent=True), endpoint)
        items = expect_list(response, endpoint, item_key)
        total = response.get("totalHits")
        total_hits = total if isinstance(total, int) and not isinstance(total, bool) else -1
        for item in items:
            yield total_hits, item
        if len(items) < page_size or (total_hits >= 0 and page_number * page_size >= total_hits):
            return
        page_number += 1


def iter_cursor_pages(
    request: RequestFn, path: str, params: Mapping[str, Any] | None, item_key: str
) -> Iterator[dict[str, Any]]:
    """Yield the items of a cursor-paged ``GET`` (async job results) until no cursor comes back."""
    current = encode_params(params)
    endpoint = f"GET {path}"
    seen: set[str] = set()
    while True:
        body = expect_dict(request("GET", path, params=current), endpoint)
        yield from expect_list(body, endpoint, item_key)
        cursor = body.get("cursor")
        if not cursor:
            return
        if not isinstance(cursor, str) or cursor in seen:
            raise errors.UnexpectedResponseError(
                f"{endpoint} returned a cursor that is not a new string; stopping instead of looping.",
                endpoint=endpoint, field="cursor",
            )
        seen.add(cursor)
        current = {**current, "cursor": cursor}
