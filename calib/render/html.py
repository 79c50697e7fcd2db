"""HTML export of an executed notebook: no code, images embedded, nothing fetched from a network.

The page uses calib's own nbconvert template (``calib/templates/calib_report``): the lab cell
layout with a head of inline CSS only, a Content-Security-Policy that forbids every fetch but
``data:`` images, and no script at all. :func:`offline_problems` re-checks the written page, so a
change in nbconvert cannot quietly bring a CDN link back.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from calib.render._quick_imports import import_jsonschema_without_iri_grammars

import_jsonschema_without_iri_grammars()  # before nbformat: see the module
import nbformat  # noqa: E402

TEMPLATE_NAME = "calib_report"
#: Cells with this tag (e.g. notes for the analyst) stay in the notebook but not in the page.
NOTEBOOK_ONLY_TAG = "notebook-only"

_URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}
_CSS_URL = re.compile(r"""url\(\s*['"]?\s*(?!data:|#)([^'")\s]+)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)


def templates_dir() -> Path:
    """The directory holding calib's nbconvert templates."""
    return Path(__file__).resolve().parent.parent / "templates"


def export_html(notebook: str | Path, html_path: str | Path, *, title: str) -> Path:
    """Write a self-contained HTML page of an executed notebook's outputs.

    Input cells and prompts are left out, cells tagged ``notebook-only`` too, stderr streams (warnings) are dropped from the page
    (they stay in the executed notebook), images are embedded as ``data:`` URIs, and the page
    is checked with :func:`offline_problems` before it is written.

    Parameters
    ----------
    notebook : str or Path
        The executed ``.ipynb``.
    html_path : str or Path
        Where to write the page; its folder must exist.
    title : str
        The page title (escaped by the template).

    Returns
    -------
    Path
        ``html_path``.

    Raises
    ------
    ValueError
        When the rendered page would fetch something or run a script.
    """
    from nbconvert import HTMLExporter

    nb = nbformat.read(Path(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name=TEMPLATE_NAME,
                            extra_template_basedirs=[str(templates_dir())],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={NOTEBOOK_ONLY_TAG}),
                                   enabled=True)
    body, _ = exporter.from_notebook_node(nb, resources={"calib_title": title})
    problems = offline_problems(body)
    if problems:
        raise ValueError(f"The HTML of {Path(notebook).name!r} would not work offline: "
                         f"{'; '.join(problems[:5])}. Return plain HTML or figures from the "
                         f"notebook's cells instead of scripts or links.")
    out = Path(html_path)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(out)
    return out


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.problems.append("a <script> element")
        if tag == "style":
            self._in_style = True
        if tag in ("iframe", "object", "embed", "base"):
            self.problems.append(f"an <{tag}> element")
        if tag == "link":
            rel = dict(attrs).get("rel") or ""
            self.problems.append(f"a <link rel={rel!r}> element")
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                self.problems.append(f"an inline {name} handler on <{tag}>")
            elif tag == "a" and name == "href":
                continue  # a link is followed only when clicked; it fetches nothing
            elif name in _URL_ATTRS and value and not _local(value):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
            elif name == "style" and value:
                self._css(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, css: str) -> None:
        if _CSS_IMPORT.search(css):
            self.problems.append("a CSS @import")
        for match in _CSS_URL.finditer(css):
            self.problems.append(f"a CSS url({match.group(1)[:60]})")


def _local(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("data:", "#")) or url == ""


def offline_problems(html: str) -> list[str]:
    """List what in an HTML page would run a script or fetch anything.

    Parameters
    ----------
    html : str
        A complete page.

    Returns
    -------
    list of str
        One short description per problem; empty when the page is self-contained.
    """
    scan = _Scan()
    scan.feed(html)
    scan.close()
    return scan.problems
