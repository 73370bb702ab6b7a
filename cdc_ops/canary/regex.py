"""A string a regular expression finds, for a canary whose filter has `matches`.

Walks the expression as Python's own parser reads it (`re._parser`, the standard library's;
no maintained generator library is among the project's dependencies) and takes the shortest way
through it. The result is only a candidate: the caller checks it with the filter's evaluator, so
a construct taken approximately (a lookaround, a backreference) can cost a route its canary but
never fake one.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse

_CATEGORY = {
    sre.CATEGORY_DIGIT: "0",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: "a",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_NOT_WORD: "-",
}
# preferred characters for a class or `.`: readable ones first
_PREFERRED = "aA0-_.:"


class Unsupported(ValueError):
    """A construct no candidate is generated for."""


def _in_set(items: list, ch: str) -> bool:
    negate = bool(items) and items[0][0] is sre.NEGATE
    found = any(
        (op is sre.LITERAL and ord(ch) == av)
        or (op is sre.RANGE and av[0] <= ord(ch) <= av[1])
        or (op is sre.CATEGORY and re.fullmatch(_category_class(av), ch) is not None)
        for op, av in (items[1:] if negate else items)
    )
    return found != negate


def _category_class(category: object) -> str:
    return {
        sre.CATEGORY_DIGIT: r"\d",
        sre.CATEGORY_NOT_DIGIT: r"\D",
        sre.CATEGORY_SPACE: r"\s",
        sre.CATEGORY_NOT_SPACE: r"\S",
        sre.CATEGORY_WORD: r"\w",
        sre.CATEGORY_NOT_WORD: r"\W",
    }[category]


def _one_of(items: list) -> str:
    for ch in _PREFERRED + "".join(chr(c) for c in range(33, 127)):
        if _in_set(items, ch):
            return ch
    for op, av in items:  # a class of characters outside printable ASCII only
        if op is sre.LITERAL:
            return chr(av)
        if op is sre.RANGE:
            return chr(av[0])
    raise Unsupported("no character of this class is known")


def _walk(pattern: sre_parse.SubPattern | list) -> str:
    out = []
    for op, av in pattern:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is sre.ANY:
            out.append("a")
        elif op is sre.IN:
            out.append(_one_of(av))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, _high, item = av
            out.append(_walk(item) * low)
        elif op is sre.SUBPATTERN:
            out.append(_walk(av[-1]))
        elif op is sre.ATOMIC_GROUP:
            out.append(_walk(av))
        elif op is sre.BRANCH:
            out.append(min((_walk(b) for b in av[1]), key=len))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # anchors and lookarounds add no character; the check decides
        elif op is sre.CATEGORY:
            out.append(_CATEGORY.get(av, "a"))
        else:
            raise Unsupported(f"{op} is not generated")
    return "".join(out)


def example(expression: str) -> str | None:
    """A string `re.search(expression, ...)` finds, or None when none was generated."""
    try:
        candidate = _walk(sre_parse.parse(expression))
    except (Unsupported, re.error, KeyError, TypeError):
        return None
    return candidate if re.search(expression, candidate) else None
