"""Text from data made safe for the Markdown files people read (agendas, the rubric log).

Names, comments, question text and decisions are typed by people and imported from other tools;
a Markdown renderer (GitHub, GitLab, an IDE preview) passes raw HTML through and turns ``[x](y)``
into links, so such text could add images, scripts or frames to a file the panel opens. Every
piece of user text goes through :func:`markdown_text` before it is placed in Markdown: HTML's
``& < >`` become entities (every renderer shows them as the characters), and the characters that
start Markdown syntax are backslash-escaped, so the text reads as typed and never as markup.
"""

from __future__ import annotations

import re

__all__ = ["markdown_text", "without_tags"]

# The characters that open emphasis, code, links and images (a link needs "[" and "]", which are
# escaped, so "(" ")" and "!" stay readable), headings and table cells. "<" and ">" (raw HTML,
# block quotes) and "&" become entities.
_ESCAPED = "\\`*_[]#|"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(text: object) -> str:
    """``text`` as one line of literal Markdown text (``None`` becomes ``""``).

    Examples
    --------
    >>> markdown_text('<img src=x onerror=alert(1)> *bold* [a](javascript:x)')
    '&lt;img src=x onerror=alert(1)&gt; \\\\*bold\\\\* \\\\[a\\\\](javascript:x)'
    >>> markdown_text("line one\\n# not a heading")
    'line one \\\\# not a heading'
    """
    if text is None:
        return ""
    out = []
    for ch in " ".join(str(text).split()):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _ESCAPED:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def without_tags(text: object) -> str:
    """User text with anything that looks like a markup tag removed, on one line.

    For comments shown to a panel: the demo org seeds some with ``<i>…</i>`` on purpose, and an
    escaped tag reads as a broken page. The result is still escaped by whoever renders it.

    >>> without_tags("Tone was flat <i>throughout</i>")
    'Tone was flat throughout'
    """
    return " ".join(re.sub(r"<[^>]*>", "", "" if text is None else str(text)).split())
