"""Where each key and list item of a YAML document stands, for errors that name a line; and a
loader whose every refusal has a line and column."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[Any, ...]
#: deeper documents are refused before the composer (which recurses) would overflow the stack
MAX_DEPTH = 64


class YamlProblem(ValueError):
    """The text is not a YAML document this project reads; line and column are 1-based."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


def line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index, counting lines as YAML does."""
    before = text[:index].replace("\r\n", "\n").replace("\r", "\n")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing what it would accept silently (a duplicate key) or crash on (a
    deep nesting, a number too long for int()), each at its mark."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: set[Any] = set()
        for key, _ in node.value:
            # merge keys (<<) may be overridden by the mapping's own keys: not duplicates
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in seen:
                    raise yaml.composer.ComposerError(
                        None, None, f"duplicate key {key.value!r}", key.start_mark
                    )
                seen.add(key.value)
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            problem = f"cannot read {node.tag.rsplit(':', 1)[-1]} {_excerpt(node)}: {exc}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def _excerpt(node: Any) -> str:
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else type(node).__name__
    return repr(text if len(text) <= 40 else text[:40] + "…")


def load(text: str) -> tuple[Any, yaml.Node | None]:
    """The document's data and node tree, or a YamlProblem at its place."""
    loader = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        line, column = line_column(text, exc.position)
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise YamlProblem(line, column, f"character {character!r} is not allowed") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlProblem(line, column, exc.problem or exc.context or str(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, str(exc)) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, node


def positions(node: yaml.Node | None, path: Path = ()) -> dict[Path, tuple[int, int]]:
    """(line, column), 1-based, of every key path and list item. A scalar value is pointed at
    where it stands; anything else at its key. A node met again through an alias is not walked
    again: what lies under it is pointed at by the alias's key (and a cycle ends)."""
    out: dict[Path, tuple[int, int]] = {}
    _walk(node, path, out, set())
    return out


def _walk(node: Any, path: Path, out: dict, seen: set[int]) -> None:
    if not isinstance(node, yaml.MappingNode | yaml.SequenceNode) or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            mark = value.start_mark if isinstance(value, yaml.ScalarNode) else key.start_mark
            # after a merge (<<) the merged keys come first: the mapping's own key wins
            out[here] = (mark.line + 1, mark.column + 1)
            _walk(value, here, out, seen)
    else:
        for i, item in enumerate(node.value):
            here = (*path, i)
            out[here] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, here, out, seen)


def nearest(loc: Path, marks: dict[Path, tuple[int, int]]) -> tuple[int, int] | None:
    """The position of loc, or of its closest ancestor the document has."""
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in marks:
            return marks[loc[:depth]]
    return None
