"""The parameter contract of a notebook: read a YAML file and check it against the notebook's
parameters cell, and the notebook's own rules, before any kernel starts.

Stricter than papermill on purpose: a parameter file runs only when every key it holds is a
parameter of the notebook, every parameter the notebook needs is present, each value has the
type of the notebook's literal default, dates are still strings, and nothing in it looks like a
secret. All of this happens before a kernel starts, so a bad file costs no time and leaks nothing.

Generic on purpose: what a *particular* notebook requires (a team that exists, a month with
data, thresholds in range) is declared by the notebook itself, in its metadata::

    "metadata": {"calib": {"rules": "calib.report.parameters:check",
                           "prepare": "calib.report.parameters:prepare",
                           "writes": ["summary.json"],
                           "imports": ["calib.report.data"]}}

``rules(params, source)`` refuses bad values with a :class:`ParameterError`; ``prepare(params)``
does the work that must succeed before the notebook runs (sync the data) and returns the
parameters the kernel gets; ``writes`` names files a successful run must leave; ``imports`` names
modules the kernel imports in the background while ``prepare`` runs
(:mod:`calib.render.kernel`). A parameter whose
comment starts with "set by the runner" is filled in by the runner (or ``prepare``), never by a
parameter file.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from calib.render._quick_imports import import_jsonschema_without_iri_grammars

import_jsonschema_without_iri_grammars()  # before nbformat: see the module
import nbformat  # noqa: E402

from calib.values import ParameterError
from calib.values import read_yaml as _read_yaml

#: Parameters every run fills in itself (besides those a notebook marks "set by the runner").
RUNNER_SET = ("output_dir",)

_SECRET_KEY = re.compile(
    r"secret|passw(or)?d|passphrase|token|api[_-]?key|credential|private[_-]?key|bearer|auth",
    re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:]*:[^/@]+@", re.IGNORECASE)
__all__ = ["ParameterError", "NotebookParameter", "NotebookContract", "read_yaml",
           "notebook_parameters", "notebook_contract", "validate", "load", "RUNNER_SET"]


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
        Variable name.
    default : Any
        The literal default value.
    help : str
        The trailing comment of the line, without ``#``.
    """

    name: str
    default: Any
    help: str


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a parameter file into a dict, keeping dates and times as strings.

    The rules are :func:`calib.values.read_yaml`'s: UTF-8, a mapping at the top, no duplicate
    keys, no aliases.

    Raises
    ------
    ParameterError
        When the file is missing, unreadable, not valid YAML, or not a mapping.
    """
    return _read_yaml(path, what="Parameter file")


def notebook_parameters(notebook: str | Path) -> dict[str, NotebookParameter]:
    """Read the literal defaults of a notebook's single ``parameters``-tagged cell.

    Parameters
    ----------
    notebook : str or Path
        An ``.ipynb`` file.

    Returns
    -------
    dict of str to NotebookParameter
        In the order of the cell.

    Raises
    ------
    ParameterError
        When the notebook has no or several parameters cells, or the cell holds anything
        other than ``name = literal`` / ``name: type = literal`` lines.
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise ParameterError(f"Notebook {str(notebook)!r} does not exist; check the path.")
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"Notebook {notebook.name!r} has {len(cells)} cells tagged "
                             f"'parameters'; tag exactly one cell of literal defaults.")
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"The parameters cell of {notebook.name!r} is not valid Python "
                             f"(line {exc.lineno}); fix it.") from None
    comments = _line_comments(source)
    params: dict[str, NotebookParameter] = {}
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if not isinstance(target, ast.Name) or getattr(node, "value", None) is None:
            raise ParameterError(f"Line {node.lineno} of the parameters cell of {notebook.name!r} "
                                 f"is not 'name = literal'; keep only literal defaults there.")
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise ParameterError(f"The default of {target.id!r} in {notebook.name!r} is not a "
                                 f"literal; write the value itself.") from None
        params[target.id] = NotebookParameter(target.id, default, comments.get(node.lineno, ""))
    return params


def _line_comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except tokenize.TokenError:
        pass
    return out


def validate(values: Mapping[str, Any], declared: Mapping[str, NotebookParameter], *,
             source: str = "the parameter file") -> dict[str, Any]:
    """Check parameter values against a notebook's declared parameters.

    Parameters
    ----------
    values : mapping
        Parameter values, e.g. from :func:`read_yaml`.
    declared : mapping of str to NotebookParameter
        From :func:`notebook_parameters`.
    source : str
        How to name the values in error messages.

    Returns
    -------
    dict
        The values in the notebook's order, with runner-set parameters at their defaults.

    Raises
    ------
    ParameterError
        On the first secret-looking key or value, then on unknown or missing keys, wrong
        types and invalid values of the known parameters (team, month, backend, ...). A secret's
        value is never part of the message.
    """
    for key, value in values.items():
        _refuse_secret(key, value, source)
    runner_set = [k for k in values if k in declared and _runner_sets(declared[k])]
    if runner_set:
        raise ParameterError(f"{source} sets {', '.join(map(repr, runner_set))}, which the runner "
                             f"sets itself; remove the line(s).")
    unknown = [k for k in values if k not in declared]
    if unknown:
        raise ParameterError(
            f"{source} has unknown key(s) {', '.join(map(repr, unknown))}; the notebook takes "
            f"{', '.join(map(repr, declared))}. Remove or rename them.")
    missing = [k for k in declared if k not in values and not _runner_sets(declared[k])]
    if missing:
        raise ParameterError(f"{source} lacks the key(s) {', '.join(map(repr, missing))}; add "
                             f"them (see parameters/example-team.yaml for each one's meaning).")
    out: dict[str, Any] = {}
    for name, param in declared.items():
        value = values.get(name, param.default)
        out[name] = _check_type(name, value, param.default, source)
    return out


def _runner_sets(param: NotebookParameter) -> bool:
    return param.name in RUNNER_SET or param.help.lower().startswith("set by the runner")


@dataclass(frozen=True)
class NotebookContract:
    """What a notebook declares about its run (its ``metadata["calib"]``).

    Attributes
    ----------
    rules : callable or None
        ``rules(params, source)``: the notebook's own checks of its values.
    prepare : callable or None
        ``prepare(params) -> params``: work to do before a kernel starts.
    writes : tuple of str
        Files a successful run must leave in its output folder.
    imports : tuple of str
        Modules the kernel imports in the background while ``prepare`` runs.
    """

    rules: Callable[[dict, str], None] | None = None
    prepare: Callable[[dict], dict] | None = None
    writes: tuple[str, ...] = field(default_factory=tuple)
    imports: tuple[str, ...] = field(default_factory=tuple)


def _hook(notebook: Path, spec: Any, what: str) -> Callable | None:
    if not spec:
        return None
    module, _, name = str(spec).partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ParameterError(f"Notebook {notebook.name!r} declares its {what} as {spec!r}, "
                             f"which calib does not have; fix metadata.calib.{what}.") from None


def notebook_contract(notebook: str | Path) -> NotebookContract:
    """The rules, preparation, expected files and background imports a notebook declares in
    ``metadata["calib"]``."""
    from calib.render.kernel import is_module_name

    notebook = Path(notebook)
    meta = nbformat.read(notebook, as_version=4).metadata.get("calib", {}) or {}
    imports = meta.get("imports") or ()
    if isinstance(imports, str) or not all(isinstance(m, str) and is_module_name(m)
                                           for m in imports):
        raise ParameterError(f"Notebook {notebook.name!r} declares imports {imports!r}; list "
                             f"module names, such as [\"calib.report.data\"], in "
                             f"metadata.calib.imports.")
    return NotebookContract(rules=_hook(notebook, meta.get("rules"), "rules"),
                            prepare=_hook(notebook, meta.get("prepare"), "prepare"),
                            writes=tuple(meta.get("writes") or ()), imports=tuple(imports))


def load(path: str | Path, notebook: str | Path, *,
         overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read and validate a parameter file for a notebook: the contract of :func:`validate`,
    then the notebook's own rules (:func:`notebook_contract`).

    Parameters
    ----------
    path : str or Path
        The YAML parameter file.
    notebook : str or Path
        The notebook whose parameters cell the file must match.
    overrides : mapping, optional
        Values that replace the file's (``{"month": "2026-11"}``), checked the same way.

    Returns
    -------
    dict
        Validated parameters.
    """
    values = {**read_yaml(path), **dict(overrides or {})}
    source = Path(path).name
    params = validate(values, notebook_parameters(notebook), source=source)
    rules = notebook_contract(notebook).rules
    if rules is not None:
        rules(params, source)
    return params


def _refuse_secret(key: str, value: Any, source: str) -> None:
    if _SECRET_KEY.search(key):
        raise ParameterError(
            f"{source} has the key {key!r}, which looks like a secret; secrets never go in "
            f"parameter files. Remove it and set GENESYSCLOUD_OAUTHCLIENT_ID / "
            f"GENESYSCLOUD_OAUTHCLIENT_SECRET in the environment instead.")
    for text in _strings(value):
        if _URL_PASSWORD.search(text):
            raise ParameterError(
                f"{source} has a URL with a password in {key!r}; remove the password from the "
                f"file and put the whole URL in the CALIB_STORE_URL environment variable.")


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a quoted string",
            list: "a list"}.get(type(value), type(value).__name__)


def _check_type(name: str, value: Any, default: Any, source: str) -> Any:
    if default is None:
        return value
    expected = type(default)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ParameterError(f"{source}: {name!r} must be {_type_name(default)} like "
                             f"{default!r}, not {_type_name(value)}; fix its value.")
    if expected is list and default:
        item_type = type(default[0])
        bad = [v for v in value if not isinstance(v, item_type)]
        if bad:
            raise ParameterError(f"{source}: every item of {name!r} must be "
                                 f"{_type_name(default[0])}; fix {bad[0]!r}.")
    return value
