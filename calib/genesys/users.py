"""Users endpoints: bulk fetch by id and listing (``genesys-api.md`` §8)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from calib.genesys._util import check_page_size, expect_dict

log = logging.getLogger("calib.genesys")

USERS = "/api/v2/users"
MAX_IDS_PER_CALL = 100


class UsersMixin:
    """Users endpoints of :class:`calib.genesys.GenesysClient`."""

    paginate: Any

    def get_users(self, ids: Iterable[str], *, state: Literal["active", "inactive", "deleted", "any"] = "any") -> list[dict[str, Any]]:
        """Fetch users by id, 100 ids per call (``GET /api/v2/users?id=...``).

        Parameters
        ----------
        ids : iterable of str
            User ids; duplicates are asked for once.
        state : {"any", "active", "inactive", "deleted"}
            ``any`` by default, so that evaluators who left still resolve to a name.

        Returns
        -------
        list of dict
            The users found, in the order of first appearance in ``ids``. Ids the API did not
            return are left out and counted in a warning on the ``calib.genesys`` logger.
        """
        if isinstance(ids, str):
            raise ValueError("get_users takes a list of user ids, not a single string; wrap it in a list.")
        wanted = list(dict.fromkeys(ids))
        for user_id in wanted:
            if not isinstance(user_id, str) or not user_id.strip() or "," in user_id:
                raise ValueError(f"User ids must be non-empty strings without commas; got {user_id!r}.")
        found: dict[str, dict[str, Any]] = {}
        for offset in range(0, len(wanted), MAX_IDS_PER_CALL):
            batch = wanted[offset:offset + MAX_IDS_PER_CALL]
            params = {"id": batch, "pageSize": MAX_IDS_PER_CALL, "state": state}
            for user in self.paginate(USERS, params=params):
                user = expect_dict(user, f"GET {USERS}", required=("id",))
                found.setdefault(user["id"], user)
        missing = [user_id for user_id in wanted if user_id not in found]
        if missing:
            log.warning("get_users: %d of %d user id(s) not returned by the API (deleted or not visible)",
                        len(missing), len(wanted))
        return [found[user_id] for user_id in wanted if user_id in found]

    def iter_users(
        self, *, state: Literal["active", "inactive", "deleted", "any"] = "active", page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Iterate over the org's users in the given ``state``."""
        if state not in ("active", "inactive", "deleted", "any"):
            raise ValueError(f"state must be 'active', 'inactive', 'deleted' or 'any'; got {state!r}.")
        check_page_size(page_size, MAX_IDS_PER_CALL)
        items = self.paginate(USERS, params={"state": state, "pageSize": page_size})
        return (expect_dict(user, f"GET {USERS}", required=("id",)) for user in items)
