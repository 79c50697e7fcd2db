"""Import ``jsonschema`` (which nbformat loads to validate notebooks) without the IRI grammars.

When the optional package ``rfc3987-syntax`` is installed (jupyterlab's ``jupyter-events``
pulls it in through ``jsonschema[format-nongpl]``), ``jsonschema`` builds 38 Lark parsers for
its ``iri`` format checkers the moment it is imported: 1.5 to 2.5 s of every ``calib report``
on this machine, for checkers neither nbformat nor calib ever calls (nbformat validates
notebooks against their schema without a format checker). Importing ``jsonschema`` once with
that package hidden skips the parsers; the package is visible again right after, so anything
that imports it by name still gets it.
"""

from __future__ import annotations

import sys

_HIDDEN = "rfc3987_syntax"


def import_jsonschema_without_iri_grammars() -> None:
    """Import ``jsonschema`` with ``rfc3987_syntax`` hidden, unless either is already loaded."""
    if "jsonschema" in sys.modules or _HIDDEN in sys.modules:
        return
    sys.modules[_HIDDEN] = None  # type: ignore[assignment]  # `import` raises ImportError
    try:
        import jsonschema  # noqa: F401
    except ImportError:  # nbformat reports a missing jsonschema itself, in its own words
        pass
    finally:
        if sys.modules.get(_HIDDEN, False) is None:
            del sys.modules[_HIDDEN]
