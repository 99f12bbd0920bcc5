"""Google-style docstrings: the subset of docstring_parser's Google parser agno relies on.

`parse_docstring` gives a tool's description and its parameters' descriptions the way agno derives them
(`Function._build_from_callable` reads docstrings with `docstring_parser`).
"""

from __future__ import annotations

import inspect
import re

__all__ = ["ParamDoc", "parse_docstring", "schema_description"]

_SECTION_TITLE = re.compile(
    r"^(Arguments|Args|Parameters|Params|Raises|Exceptions|Except|Attributes|Example|Examples|Returns|Yields)"
    r":[ \t\r\f\v]*$",
    re.MULTILINE,
)
_PARAM_SECTIONS = frozenset({"Arguments", "Args", "Parameters", "Params"})
_LIST_SECTIONS = _PARAM_SECTIONS | {"Raises", "Exceptions", "Except", "Attributes"}
"""Sections docstring_parser reads as `name: text` entries; a malformed one makes it reject the docstring."""
_TYPED_ARG = re.compile(r"\s*(.+?)\s*\(\s*(.*[^\s]+)\s*\)")


ParamDoc = tuple[str | None, str]
"""A documented parameter: its type as written in the docstring (or None) and its description text."""


def parse_docstring(doc: str) -> tuple[str, dict[str, ParamDoc]]:
    """Split a Google-style docstring into (description, {parameter name: (type, text)}) as agno does.

    agno reads docstrings with `docstring_parser`: the tool description is the short description and
    the long one joined by one newline (so a blank line after the summary disappears), everything
    before the first section title (`Args:`, `Returns:`, ...). A parameter written `name (type): text`
    is described to the model as `"(type) text"` (see `schema_description`); continuation lines stay on
    their own lines. When an entry list
    (`Args:`, `Raises:`, ...) is empty or has an entry without a colon, the Google parser gives up and
    agno describes the tool with the whole docstring and its parameters with nothing.
    """
    text = inspect.cleandoc(doc)
    first = _SECTION_TITLE.search(text)
    if first is None:
        return _description(text), {}
    args = _parse_sections(text[first.start() :])
    if args is None:
        return _description(text), {}
    return _description(text[: first.start()]), args


def _description(text: str) -> str:
    short, _, rest = text.partition("\n")
    return "\n".join(part for part in (short, rest.strip()) if part)


def schema_description(doc: ParamDoc) -> str:
    """The parameter description agno puts in the tool schema: `"(type) text"`, or the text alone."""
    type_name, text = doc
    return f"({type_name}) {text}" if type_name is not None else text


def _parse_sections(meta: str) -> dict[str, ParamDoc] | None:
    """Parameter descriptions from the sections part of a docstring, or None if docstring_parser rejects it."""
    matches = list(_SECTION_TITLE.finditer(meta))
    chunks: dict[str, str] = {}  # by title: a repeated section replaces the earlier one, as in docstring_parser
    for i, match in enumerate(matches):
        body = meta[match.end() : matches[i + 1].start() if i + 1 < len(matches) else len(meta)]
        unindented = re.search(r"\n\S", body)  # a line at column 0 ends the section (docstring_parser #29)
        chunks[match.group(1)] = (body[: unindented.start()] if unindented else body).strip("\n")
    args: dict[str, ParamDoc] = {}
    for title, chunk in chunks.items():
        if title not in _LIST_SECTIONS:
            continue
        entries = _section_entries(chunk)
        if entries is None:
            return None
        if title in _PARAM_SECTIONS:
            args.update(entries)
    return args


def _section_entries(chunk: str) -> dict[str, ParamDoc] | None:
    """`name: text` entries of one section (each starts at the section's first indentation), or None if malformed."""
    indent = chunk[: len(chunk) - len(chunk.lstrip(" \t"))]
    starts = list(re.finditer("^" + re.escape(indent) + r"(?=\S)", chunk, re.MULTILINE))
    if not starts:
        return None
    entries: dict[str, ParamDoc] = {}
    for i, start in enumerate(starts):
        entry = chunk[start.end() : starts[i + 1].start() if i + 1 < len(starts) else len(chunk)].strip("\n")
        spec, colon, desc = entry.partition(":")
        if not colon:
            return None
        if desc.startswith(" "):
            desc = desc[1:]
        if "\n" in desc:
            first_line, more = desc.split("\n", 1)
            desc = first_line + "\n" + inspect.cleandoc(more)
        desc = desc.strip("\n")
        typed = _TYPED_ARG.match(spec)
        if typed is None:
            entries[spec] = (None, desc)  # unstripped, as docstring_parser: `name : text` describes no parameter
            continue
        name, type_name = typed.group(1, 2)
        type_name = type_name.removesuffix(", optional").removesuffix("?")
        entries[name] = (type_name, desc)
    return entries
