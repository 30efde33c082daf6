"""Provides :func:`visible`: text from an image made safe to print or draw (issue 25).

Everything in an image (names, link targets, commands, authors, labels, tags, file contents) is written by
whoever built it. Printed raw, an ESC or C1 byte drives the terminal (OSC 52 writes the clipboard, ``\\x1b[2J``
clears the screen), a newline forges a report line (``PASS: ...`` in ``--ci``) and a bidi override shows a name
reversed. Every front end and text report passes such text through :func:`visible` (or :func:`visible_lines`
where line breaks are meant), which shows those characters as the escapes Python writes (``\\x1b``, ``\\n``,
``\\u202e``) and leaves every other character alone; JSON keeps the exact values instead.

A backslash is left as it is, so a name that spells ``\\n`` reads like one holding a newline: the display stays
identical to the name for every name without a control character, dive's ``--ci`` output included.
"""

from __future__ import annotations

import re

_OTHER_UNSAFE = (
    "\x7f-\x9f"  # DEL and the C1 controls (CSI, OSC, NEL...)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides and isolates
    "\u2028\u2029"  # line and paragraph separators (line breaks to some renderers)
    "\ud800-\udfff"  # lone surrogates: the undecodable bytes of a link target (surrogateescape)
    "\ufffe\uffff"  # non-characters (and not allowed in XML)
)
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHER_UNSAFE}]")
_UNSAFE_KEEPING_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER_UNSAFE}]")
"""The C0 controls (ESC above all) but tab and newline, and the rest."""


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` on one line with control, bidi and other invisible characters shown as escapes.

    Costs a ``str.isprintable`` call for an ordinary name (the tree draws up to 10^6 of them).
    """
    if text.isprintable():
        return text
    return _UNSAFE.sub(_escape, text)


def visible_lines(text: str) -> str:
    """As :func:`visible`, but newlines and tabs stay (file contents, a layer's command)."""
    if text.isprintable():
        return text
    return _UNSAFE_KEEPING_LINES.sub(_escape, text)


__all__ = ["visible", "visible_lines"]
