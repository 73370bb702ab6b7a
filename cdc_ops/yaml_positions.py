"""Where each key and list item of a YAML document stands, for errors that name a line."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[Any, ...]


def positions(node: yaml.Node | None, path: Path = ()) -> dict[Path, tuple[int, int]]:
    """(line, column), 1-based, of every key path and list item. A scalar value is pointed at
    where it stands; anything else at its key."""
    out: dict[Path, tuple[int, int]] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            mark = value.start_mark if isinstance(value, yaml.ScalarNode) else key.start_mark
            out[here] = (mark.line + 1, mark.column + 1)
            out.update(positions(value, here))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*path, i)
            out[here] = (item.start_mark.line + 1, item.start_mark.column + 1)
            out.update(positions(item, here))
    return out


def nearest(loc: Path, marks: dict[Path, tuple[int, int]]) -> tuple[int, int] | None:
    """The position of loc, or of its closest ancestor the document has."""
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in marks:
            return marks[loc[:depth]]
    return None
