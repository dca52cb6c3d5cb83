"""Render markdown the way GitHub does (its cmark-gfm fork) and find anything live in it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

_MENTION = re.compile(r"(?<![\w\u200d`])@[A-Za-z0-9][A-Za-z0-9-]*")
_REFERENCE = re.compile(r"(?<![\w\u200d&])#[0-9]+\b")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._code += tag in ("code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self._code -= tag in ("code", "pre")

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.text.append(data)


def live_parts(markdown: str, *, own_links: tuple[str, ...] = ()) -> list[str]:
    """Links, images, raw HTML, mentions and references that `markdown` renders as
    live on GitHub (links starting with one of `own_links` and our own headings excepted)."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    collector = _Collector()
    collector.feed(html)
    found = []
    for tag, attrs in collector.tags:
        href = attrs.get("href") or attrs.get("src") or ""
        if tag in ("a", "img"):
            if tag == "img" or not href.startswith(own_links):
                found.append(f"<{tag} {href}>")
        elif tag not in _PLAIN_TAGS:
            found.append(f"<{tag}>")
    text = "".join(collector.text)
    found += _MENTION.findall(text) + _REFERENCE.findall(text)
    return found


_PLAIN_TAGS = {
    "p",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "strong",
    "em",
    "ul",
    "li",
    "br",
    "blockquote",
    "sub",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}


def headings(markdown: str) -> list[str]:
    """The text of every heading `markdown` renders."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h[1-6]>(.*?)</h[1-6]>", html)]
