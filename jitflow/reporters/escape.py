"""Escaping user-controlled strings for each place jitflow writes them.

A request's reason, ticket, key and file names are written by the requester, so every sink
gets its own escaping: a CI log line must not start a workflow command, a PR comment must not
grow a heading, a link, an HTML tag, a mention or an autolink, and the HTML report must not run
markup. One function per sink, so a caller can't pick a half-fitting one.
"""

from __future__ import annotations

import re
import urllib.parse

# Characters that end a line (or look like they do) in logs, terminals and markdown.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\e"}
ZWJ = "\u200d"  # zero-width joiner: invisible, but breaks @mentions and autolinks
_MARKDOWN_SPECIALS = "\\`*_{}[]()#|~"
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www)([.:])")
_REFERENCE = re.compile(r"(?i)(gh-|#|@)(?=\w)")


def one_line(text: str) -> str:
    """For logs and terminals: control characters and line breaks shown as escapes.

    With every break escaped, no value can begin a line of its own, so none can start a
    GitHub workflow command (`::set-output`, `::add-mask::`, `::stop-commands::`...).
    """
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def log_line(text: str) -> str:
    """A full line for an Actions log: one line, and never a workflow command."""
    flat = one_line(text)
    return " " + flat if flat.lstrip().startswith("::") else flat


def workflow_data(text: str) -> str:
    """GitHub's escaping for the message of a workflow command (after the last `::`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """GitHub's escaping for a workflow command property value (file=, title=...)."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown_text(text: str) -> str:
    """Inert markdown: no markup, HTML, headings, links, mentions, autolinks or references."""
    flat = one_line(text)
    flat = _AUTOLINK.sub(lambda m: m.group(1) + ZWJ + m.group(2), flat)
    flat = _REFERENCE.sub(lambda m: m.group(1) + ZWJ, flat)
    out = []
    for char in flat:
        if char in _HTML:
            out.append(_HTML[char])
        elif char in _MARKDOWN_SPECIALS:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def markdown_code(text: str) -> str:
    """A code span holding `text` verbatim on one line (no backtick can close it early)."""
    flat = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def markdown_mention(login: str) -> str:
    """@login for a real GitHub login; anything else as inert text."""
    if re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?", login):
        return "@" + login
    return markdown_code(login)


def url_path(path: str) -> str:
    """A repository path as a URL path segment: nothing in it can end the link."""
    return urllib.parse.quote(path, safe="/")


def slack_text(text: str) -> str:
    """Inert in a Slack message: `&`, `<`, `>` escaped as Slack requires (so no `<!channel>`,
    `<@U123>` or `<url|label>` can be written), mentions and autolinks broken with a
    zero-width joiner, on one line."""
    flat = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = _AUTOLINK.sub(lambda m: m.group(1) + ZWJ + m.group(2), flat)
    flat = re.sub(r"(?i)(@|#|!)(?=\w)", lambda m: m.group(1) + ZWJ, flat)
    return re.sub(
        r"(?i)\b([a-z0-9-]+)(\.)(?=[a-z]{2,}\b)", lambda m: m.group(1) + ZWJ + m.group(2), flat
    )
