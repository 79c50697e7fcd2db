"""What the command verbs share: opening a backend, printing a table, naming a store or a path
the way a person reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["open_backend", "print_table", "shown_path", "store_display"]


def open_backend(backend: str, seed: int) -> Any:
    from calib import context

    return context.open_backend(backend, sandbox_seed=seed)


def print_table(frame: Any, empty: str) -> None:
    print(frame.to_string(index=False) if len(frame) else empty)


def shown_path(path: Path) -> str:
    from calib.context import project_root

    try:
        return str(Path(path).resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def store_display(url: str | None) -> str:
    from calib.context import store_url
    from calib.store.engine import parse_url

    return parse_url(store_url(url)).render_as_string(hide_password=True)
