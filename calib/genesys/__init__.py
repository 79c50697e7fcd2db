"""Genesys Cloud Platform API client built on ``requests`` (no SDK).

>>> from calib.genesys import GenesysClient, errors, regions      # doctest: +SKIP

``GenesysClient`` is imported on first use, so ``import calib.genesys`` stays cheap and importing
``errors`` or ``regions`` does not load ``requests``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calib.genesys import errors, regions

if TYPE_CHECKING:
    from calib.genesys.client import GenesysClient

__all__ = ["GenesysClient", "errors", "regions"]


def __getattr__(name: str) -> Any:
    if name == "GenesysClient":
        from calib.genesys.client import GenesysClient

        return GenesysClient
    raise AttributeError(f"module 'calib.genesys' has no attribute {name!r}")
