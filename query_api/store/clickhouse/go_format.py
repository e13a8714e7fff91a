"""The part of Go's formatting the ``clickhouseexporter`` uses to render its DDL, so
`exporter_ddl` renders the vendored templates exactly as the exporter does: ``fmt.Sprintf``
with ``%s`` and ``%q`` (strconv's quoting) and the subset of ``text/template`` its logs
template uses (fields, ``if``/``else``/``end``, the ``ident`` function)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

__all__ = ["TEMPLATE_ACTION", "go_quote", "go_sprintf", "render_go_template"]


# --- Go's fmt and strconv ---------------------------------------------------------

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(value: str) -> str:
    """Go's ``strconv.Quote`` (what ``fmt``'s ``%q`` does with a string)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == " " or unicodedata.category(ch)[0] in "LMNPS":  # unicode.IsPrint
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"{value!r}: a lone surrogate is not valid UTF-8")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_VERB = re.compile(r"%(.)", re.DOTALL)


def go_sprintf(template: str, *args: str) -> str:
    """Go's ``fmt.Sprintf`` for string arguments and the verbs ``%s``, ``%q`` and ``%%``.

    Anything else, or a wrong number of arguments (which Go would render as
    ``%!s(MISSING)`` / ``%!(EXTRA ...)``), raises `ValueError`.
    """
    used = 0

    def verb(match: re.Match[str]) -> str:
        nonlocal used
        kind = match.group(1)
        if kind == "%":
            return "%"
        if kind not in "sq":
            raise ValueError(f"unsupported fmt verb %{kind}")
        if used >= len(args):
            raise ValueError("fmt: missing argument")
        arg = args[used]
        used += 1
        return arg if kind == "s" else go_quote(arg)

    rendered = _VERB.sub(verb, template)
    if used != len(args):
        raise ValueError(f"fmt: {len(args) - used} extra argument(s)")
    return rendered


# --- the subset of Go's text/template the logs templates use ------------------------

TEMPLATE_ACTION = re.compile(r"\{\{(- )?(.*?)( -)?\}\}", re.DOTALL)
_GO_SPACE = " \t\r\n"
_FIELD = r"\.([A-Za-z_][A-Za-z0-9_]*)"


def _ident(value: str) -> str:
    # sqltemplates.templateFuncs["ident"]
    return "`" + value.replace("`", "\\`") + "`"


def render_go_template(template: str, data: Mapping[str, str | bool]) -> str:
    """Render a Go ``text/template`` that uses only ``{{.Field}}``, ``{{ident .Field}}``,
    ``{{if .Field}}`` / ``{{else}}`` / ``{{end}}`` and the ``{{- `` / `` -}}`` trim markers.

    Other actions raise `ValueError`, so a changed template is noticed, not misrendered.
    """
    # Split into text and actions, applying the trim markers to the neighbouring text.
    pieces: list[str | tuple[str]] = []  # text, or (action,)
    pos = 0
    trim_next = False
    for match in TEMPLATE_ACTION.finditer(template):
        text = template[pos : match.start()]
        if trim_next:
            text = text.lstrip(_GO_SPACE)
        if match.group(1):
            text = text.rstrip(_GO_SPACE)
        pieces.append(text)
        pieces.append((match.group(2).strip(),))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = template[pos:]
    pieces.append(tail.lstrip(_GO_SPACE) if trim_next else tail)

    def field(name: str) -> str | bool:
        if name not in data:
            raise ValueError(f"template field .{name} has no value")
        return data[name]

    out: list[str] = []
    # Each open `if`: (condition, in the else branch); text is emitted when every level is live.
    stack: list[tuple[bool, bool]] = []

    def live() -> bool:
        return all(cond != in_else for cond, in_else in stack)

    for piece in pieces:
        if isinstance(piece, str):
            if live():
                out.append(piece)
            continue
        action = piece[0]
        if m := re.fullmatch(r"if\s+" + _FIELD, action):
            value = field(m.group(1))
            stack.append((bool(value), False))
        elif action == "else":
            if not stack or stack[-1][1]:
                raise ValueError("template: unexpected {{else}}")
            stack[-1] = (stack[-1][0], True)
        elif action == "end":
            if not stack:
                raise ValueError("template: unexpected {{end}}")
            stack.pop()
        elif m := re.fullmatch(r"ident\s+" + _FIELD, action):
            if live():
                out.append(_ident(str(field(m.group(1)))))
        elif m := re.fullmatch(_FIELD, action):
            if live():
                value = field(m.group(1))
                out.append(("true" if value else "false") if isinstance(value, bool) else value)
        else:
            raise ValueError(f"unsupported template action {{{{{action}}}}}")
    if stack:
        raise ValueError("template: unclosed {{if}}")
    return "".join(out)
