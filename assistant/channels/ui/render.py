"""Answer text as safe HTML for the web chat.

Answers quote documents, and documents may be uploads. The text is rendered from Markdown with raw
HTML escaped and links and images turned off, then wrapped in one HTML block so that the browser's
Markdown renderer passes it through untouched: no form, input, image or link can come from a document
or from the question. Citation links are added separately, only to the portal domains allowed.
"""

from __future__ import annotations

import html
import re
from functools import cache

from markdown_it import MarkdownIt

from assistant.ingest.sanitize import allowed_link
from assistant.pipeline.answers import Answer


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(["image", "link", "autolink"])


def safe_html(text: str) -> str:
    """Markdown (bold, lists, paragraphs) to HTML with every tag of the text itself escaped."""
    rendered = _markdown().render(text).strip()
    # One HTML block with no blank line inside: Markdown renderers pass such a block through as is.
    return '<div class="answer">' + re.sub(r"\n\s*\n", "\n", rendered) + "</div>"


def portal_link(url: str, domains: list[str], label: str) -> str:
    """A link to an allowed portal domain, or nothing: a document cannot make the chat link elsewhere."""
    if not allowed_link(url, domains):
        return ""
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a>'


def citations_html(answer: Answer, domains: list[str]) -> str:
    """Citations grouped by document: its title once, then each quoted section with its number.
    Every piece of document text is escaped."""
    if not answer.citations:
        return ""
    groups: dict[str, list] = {}
    for c in answer.citations:
        groups.setdefault(c.doc_id, []).append(c)
    parts = ["<p><strong>Nguồn trích dẫn:</strong></p>"]
    for cited in groups.values():
        first = cited[0]
        numbers = ", ".join(f"[{c.n}]" for c in cited)
        quotes = "".join(
            f'<p id="cite-{c.n}"><strong>[{c.n}] {html.escape(c.section)}</strong></p>'
            f"<blockquote>{html.escape(c.quote)}</blockquote>"
            for c in cited
        )
        link = portal_link(first.url, domains, "xem trên cổng")
        parts.append(
            f'<details class="citation"><summary>{numbers} {html.escape(first.title)}</summary>{quotes}'
            f"<small>{html.escape(first.source)}{' — ' + link if link else ''}</small></details>"
        )
    return "".join(parts)


def answer_message(answer: Answer, domains: list[str]) -> str:
    """The chat bubble of a finished answer: its text as safe HTML, then its citations."""
    return safe_html(answer.text).removesuffix("</div>") + citations_html(answer, domains) + "</div>"
