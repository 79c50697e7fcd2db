"""The store's error type."""

from __future__ import annotations


class StoreError(ValueError):
    """A store operation that cannot be done as asked; the message says why and what to do.

    It subclasses ``ValueError`` so that callers (and the ``calib`` command) that turn bad input
    into a clean message also handle the store's refusals, such as a reveal before the deadline.
    """
