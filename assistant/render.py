"""Answer text as safe HTML for the web chat.

Answers quote documents, and documents may be uploads. The text is rendered from Markdown with raw
HTML escaped and links and images turned off, then wrapped in one HTML block so that the browser's
Markdown renderer passes it through untouched: no form, input, image or link can come from a document
or from the question. Citation links are added separately, only to the portal domains allowed.
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(["image", "link", "autolink"])


def safe_html(text: str) -> str:
    """Markdown (bold, lists, paragraphs) to HTML with every tag of the text itself escaped."""
    rendered = _markdown().render(text).strip()
    # One HTML block with no blank line inside: Markdown renderers pass such a block through as is.
    return '<div class="answer">' + re.sub(r"\n\s*\n", "\n", rendered) + "</div>"
