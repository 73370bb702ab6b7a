"""Hostile variants of filters.yaml: each is refused at its place in the file, or compiles to SQL
of the same structure as a tame twin, with every value a literal, for every target.

The corpus is built from the shipped file: its first filter replaced by a hostile one (or the
YAML itself made hostile). A refusal must be a FiltersError whose every problem names the file,
a line and a column (and, where the variant knows it, the field). A compiled variant is checked
with a SQL lexer written here (quotes, backticks, comments, hints), against the same file with
every value replaced by a tame one, and by an interpreter of the WHERE clause, written here too,
that must agree with the Python evaluator.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdc_ops.canary.marker import CANARY_ID_PREFIX
from cdc_ops.filters import files
from cdc_ops.filters.compiler import RAW_COLUMNS, SINK_COLUMNS, Target, compile_filters
from cdc_ops.filters.evaluate import matches
from cdc_ops.filters.model import FilterFile, FiltersError, load_filters

SHIPPED = yaml.safe_load(files.FILTERS_FILE.read_text())
RAW_TOPIC = "raw-business-events"


# --- the corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    id: str
    data: bytes
    path: str | None = None  # the field a refusal must name, when the variant knows it


def dump(doc: Any) -> bytes:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=2**30)
    return text.encode()


def tame_filter(**changes: Any) -> dict[str, Any]:
    f = {
        "name": "hostile",
        "description": "a filter under attack",
        "outputTopic": "filtered-hostile",
        "operations": ["c"],
        "match": "all",
        "conditions": [{"field": "event_type", "operator": "equals", "value": "LoanCreated"}],
    }
    for key, value in changes.items():
        if value is DROP:
            f.pop(key)
        else:
            f[key] = value
    return f


DROP = object()


def with_filter(f: dict[str, Any]) -> bytes:
    return dump({"version": 1, "filters": [f, *SHIPPED["filters"][1:]]})


def condition(field: Any = "event_type", operator: Any = "equals", value: Any = DROP) -> dict:
    c = {"field": field, "operator": operator}
    if value is not DROP:
        c["value"] = value
    return c


def with_condition(c: dict[str, Any], **changes: Any) -> bytes:
    return with_filter(tame_filter(conditions=[c], **changes))


F = "filters[0]"
C = f"{F}.conditions[0]"

NAMES = [
    "",
    "Loans",
    "loans;drop",
    "loans\n",
    "loans\n-- x",
    "a" * 64,
    "a" * 63,
    "lo`ans",
    "lo'ans",
    "ĺoans",
    "loans\u2028",
    "_x",
    "1x",
    123,
    None,
    ["x"],
    "loans-x",
    "loans ",
    "ｌｏａｎｓ",
    "loans\x00",
]
DESCRIPTIONS = [
    "x\nDROP TABLE t;",
    "x\r",
    "x\r\n-- y",
    "\x00",
    "\x1b[31mred",
    "x\u2028y",
    "x\u2029y",
    "x\x85y",
    "x\x0bx",
    "x\x0cx",
    "*/ drop",
    "-- nested",
    "; DROP TABLE t; --",
    "'",
    "`",
    "\u202egnp.exe",
    "\u200f",
    "\ud800",
    "x" * 100_000,
    "日本語の説明",
    "emoji 😀",
    "\ufeff",
    42,
    None,
    True,
    ["a"],
    {"a": 1},
    dt.date(2024, 1, 1),
    "",
]
TOPICS = [
    "",
    ".",
    "..",
    "a" * 249,
    "a" * 250,
    "x`y",
    "x'y",
    "x y",
    "x\n",
    "9lives",
    "-dash",
    ".dot",
    "_x",
    "x;y",
    "x/*",
    "ünï",
    5,
    None,
    "x\u2028",
    "filtered-loan-payment-submitted-events",
]
OPERATIONS = [
    [],
    ["x"],
    "c",
    ["c", "c"],
    ["c", "u", "d", "r"],
    ["d"],
    ["r"],
    ["u"],
    [None],
    [1],
    ["C"],
    ["c\n"],
    [["c"]],
    {"c": 1},
    ["c", "d"],
]
MATCHES = ["", "ALL", "any", "all\n", None, 1, ["all"], "all' OR '1'='1"]
FIELDS = [
    "",
    "colour",
    "id ",
    " id",
    "ID",
    "id\n",
    "id`",
    "event_data",
    "event_data.",
    "event_data..a",
    "event_data.a.b[0].c",
    "event_data['a']",
    "event_data.a['b']",
    'event_data."a"',
    "event_data.a[-1]",
    "event_data.a[٣]",
    "event_data.a[99999999999999999999]",
    "event_data.ä",
    "event_data.a b",
    "event_data.a\n",
    "event_data.a'b",
    "event_data.a`b",
    "event_data.a)",
    "event_data.$",
    "event_data.a[0][1]",
    "event_data.a.*",
    "event_data" + ".a" * 3000,
    "event_data.lax",
    "event_data.strict",
    12,
    None,
    ["id"],
    "event_data.a\u2028",
    "event_data.a[0]",
]
OPERATORS = [
    "",
    "EQUALS",
    "eq",
    "equals ",
    "equals\n",
    "between'",
    None,
    1,
    ["equals"],
    "__class__",
    "notin",
]
STRINGS = [
    "x'); DROP TABLE `raw-business-events`; --",
    "'",
    "''",
    "\\",
    "\\'",
    "`",
    "``",
    "*/",
    "/*",
    "--",
    ";",
    "a\nb",
    "a\rb",
    "a\r\nb",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "a\u2028b",
    "a\u2029b",
    "\ud800",
    "\udfff",
    "\u202e",
    "\u200f",
    "\u2066",
    "\ufeff",
    "x" * 10_000,
    "日本",
    "😀",
    "",
    " ",
    "%",
    "_",
    "cdc-ops-canary-x",
    "NULL",
    "TRUE",
    "U&'\\0041'",
    "${KAFKA_BOOTSTRAP_SERVERS}",
    "$.a",
]
REGEXES = [
    "(unclosed",
    "[",
    "a{,3}",
    "\\p{L}",
    "(?P<n>a)",
    "(?(1)a|b)",
    "'\\''",
    "^Lo'an$",
    "a|'",
    "\\Z",
    "(?#c)",
    "x" * 5000,
    "[a-z]+",
    ".*",
    "\\d+",
]
NUMBERS = [
    0,
    -0.0,
    1,
    -1,
    2**63,
    -(2**63) - 1,
    10**30,
    10**400,
    1e300,
    1.5e-300,
    5e-324,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.1,
    1e16,
    123456789.123456789,
    -1e-7,
]
OTHERS = [True, False, None, [], [[]], [[1]], {}, {"a": 1}, dt.date(2024, 1, 1)]
COMPARE = ["greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual"]


def model_variants() -> list[Variant]:
    out: list[Variant] = []

    def add(kind: str, i: int, data: bytes, path: str) -> None:
        out.append(Variant(f"{kind}-{i}", data, path))

    for i, name in enumerate(NAMES):
        add("name", i, with_filter(tame_filter(name=name)), f"{F}.name")
    for i, text in enumerate(DESCRIPTIONS):
        add("description", i, with_filter(tame_filter(description=text)), f"{F}.description")
    for i, topic in enumerate(TOPICS):
        # a topic another filter has is refused where the second one stands
        where = "filters[1]" if topic == SHIPPED["filters"][1]["outputTopic"] else F
        add("topic", i, with_filter(tame_filter(outputTopic=topic)), f"{where}.outputTopic")
    for i, ops in enumerate(OPERATIONS):
        add("operations", i, with_filter(tame_filter(operations=ops)), f"{F}.operations")
    for i, match in enumerate(MATCHES):
        add("match", i, with_filter(tame_filter(match=match)), f"{F}.match")
    for i, field in enumerate(FIELDS):
        add("field", i, with_condition(condition(field, "isNotNull")), f"{C}.field")
        if isinstance(field, str) and field.startswith("event_data."):
            c = condition(field, "between", [1, 2])
            add("field-between", i, with_condition(c), f"{C}.field")
    for i, op in enumerate(OPERATORS):
        add("operator", i, with_condition(condition("id", op, "x")), f"{C}.operator")
    for i, v in enumerate(STRINGS + NUMBERS + OTHERS):
        add("equals", i, with_condition(condition("event_type", "equals", v)), C)
        add("in", i, with_condition(condition("event_name", "in", [v])), C)
        add("notIn", i, with_condition(condition("event_name", "notIn", [v, "x"])), C)
        add("matches", i, with_condition(condition("id", "matches", v)), C)
        add("isNull", i, with_condition(condition("id", "isNull", v)), C)
    for i, v in enumerate(NUMBERS + OTHERS + STRINGS[:6]):
        for op in COMPARE:
            field = "event_data.eventBody.amount"
            add(op, i, with_condition(condition(field, op, v)), C)
        add("between-low", i, with_condition(condition("id", "between", [v, 10**400])), C)
        add("between-same", i, with_condition(condition("id", "between", [v, v])), C)
    for i, regex in enumerate(REGEXES):
        add("regex", i, with_condition(condition("event_name", "matches", regex)), C)
    arities = [[], [1], [1, 2, 3], [2, 1], "1..2", [[1], [2]], [True, False], [1, None], 5]
    for i, v in enumerate(arities):
        add("between-arity", i, with_condition(condition("id", "between", v)), C)
    lists = [[], [[]], [[1, 2]], [None], [{"a": 1}], "notalist", [f"v{k}" for k in range(1000)]]
    for i, v in enumerate(lists):
        add("in-list", i, with_condition(condition("id", "in", v)), C)
        add("notIn-list", i, with_condition(condition("id", "notIn", v)), C)
    for i, enabled in enumerate(["false", None, float("nan"), 2, [True]]):
        add("enabled", i, with_filter(tame_filter(enabled=enabled)), f"{F}.enabled")
    for i, key in enumerate(["name\n", "unknown", "Name", 1, None]):
        f = tame_filter()
        f[key] = "x"
        add("extra-key", i, with_filter(f), F)
    for i, key in enumerate(["name", "outputTopic", "conditions"]):
        add("missing", i, with_filter(tame_filter(**{key: DROP})), F)
    add("condition-extra", 0, with_condition({**condition("id", "isNull"), "x": "'"}), C)
    add("conditions-empty", 0, with_filter(tame_filter(conditions=[])), f"{F}.conditions")
    add("conditions-map", 0, with_filter(tame_filter(conditions={"a": 1})), f"{F}.conditions")
    many = [condition("event_data.eventBody.amount", "greaterThan", k) for k in range(60)]
    add("conditions-many", 0, with_filter(tame_filter(conditions=many, match="any")), C)
    everything = [
        condition("event_type", "in", ["A", "B'"]),
        condition("event_name", "notIn", ["C"]),
        condition("event_data.eventBody.entities[0].loan.amount", "between", [-5, 5000.5]),
        condition("event_data.eventHeader.eventName", "matches", "^Lo'an.*"),
        condition("saved_date", "isNotNull"),
        condition("created_date", "isNull"),
        condition("id", "lessThanOrEqual", 10**30),
    ]
    for match in ("all", "any"):
        for k, ops in enumerate((["c"], ["c", "u", "d", "r"])):
            f = tame_filter(conditions=everything, match=match, operations=ops)
            add(f"everything-{match}", k, with_filter(f), C)
    return out


BASE = files.FILTERS_FILE.read_bytes()
FIRST_VALUE = b"value: LoanCreated"
DEEP = 10_000


def yaml_variants() -> list[Variant]:
    anchored = BASE.replace(
        b"      - field: event_type\n        operator: equals\n        value: LoanCreated",
        b"      - &cond\n        field: event_type\n"
        b"        operator: equals\n        value: LoanCreated",
        1,
    )
    assert anchored != BASE
    shared = anchored.replace(
        b"value: LoanPaymentSubmitted", b"value: LoanPaymentSubmitted\n      - *cond", 1
    )
    merged = BASE + (
        b"\n  - &base\n    name: base_one\n    outputTopic: filtered-base-one\n"
        b"    conditions: [{field: id, operator: isNotNull}]\n"
        b"  - <<: *base\n    name: base_two\n    outputTopic: filtered-base-two\n"
    )
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [{', '.join(['*' + p] * 9)}]\n"
        for p, k in zip("abcdefgh", "bcdefghi", strict=True)
    )
    laughs = laughs.encode()
    raw: dict[str, bytes] = {
        "empty": b"",
        "only-comments": b"# nothing here\n",
        "document-start-only": b"---\n",
        "filters-missing": b"version: 1\n",
        "filters-empty": b"filters: []\n",
        "filters-null": b"filters:\n",
        "a-list": b"[1, 2]\n",
        "a-string": b"just a string\n",
        "a-number": b"42\n",
        "multi-document": BASE + b"\n---\n" + BASE,
        "python-object": BASE.replace(FIRST_VALUE, b"value: !!python/object/apply:os.system [id]"),
        "python-name": BASE.replace(FIRST_VALUE, b"value: !!python/name:os.system"),
        "custom-tag": BASE.replace(FIRST_VALUE, b"value: !sql DROP"),
        "str-tag": BASE.replace(FIRST_VALUE, b"value: !!str 5"),
        "int-tag-bad": BASE.replace(FIRST_VALUE, b"value: !!int x"),
        "binary": BASE.replace(FIRST_VALUE, b"value: !!binary J30gT1IgMT0xIC0t"),
        "binary-not-utf8": BASE.replace(FIRST_VALUE, b"value: !!binary /w=="),
        "set": BASE.replace(FIRST_VALUE, b"value: !!set {a, b}"),
        "omap": BASE.replace(FIRST_VALUE, b"value: !!omap [a: 1]"),
        "timestamp": BASE.replace(FIRST_VALUE, b"value: 2024-01-01T10:00:00Z"),
        "date": BASE.replace(FIRST_VALUE, b"value: 2024-01-01"),
        "sexagesimal": BASE.replace(FIRST_VALUE, b"value: 190:20:30"),
        "yes": BASE.replace(FIRST_VALUE, b"value: yes"),
        "octal": BASE.replace(FIRST_VALUE, b"value: 0o17"),
        "null-tilde": BASE.replace(FIRST_VALUE, b"value: ~"),
        "nan": BASE.replace(FIRST_VALUE, b"value: .NaN"),
        "huge-int": BASE.replace(FIRST_VALUE, b"value: 1" + b"0" * 5000),
        "huge-int-between": BASE.replace(
            b"operator: equals\n        value: LoanCreated",
            b"operator: between\n        value: [1, 1" + b"0" * 5000 + b"]",
        ),
        "anchor-alias": shared,
        "undefined-alias": BASE.replace(FIRST_VALUE, b"value: *nowhere"),
        "recursive-alias": BASE.replace(FIRST_VALUE, b"value: &loop [*loop]"),
        "billion-laughs": laughs + BASE.replace(FIRST_VALUE, b"value: *i"),
        "billion-laughs-key": laughs + BASE,
        "merge-key": merged,
        "merge-key-bad": BASE.replace(
            b"    outputTopic: filtered-loan-created-events",
            b"    <<: 5\n    outputTopic: filtered-loan-created-events",
        ),
        "duplicate-value": BASE.replace(FIRST_VALUE, FIRST_VALUE + b"\n        value: CarCreated"),
        "duplicate-filters": BASE + b"filters: []\n",
        "duplicate-name": BASE.replace(
            b"    outputTopic: filtered-loan-created-events",
            b"    name: other\n    outputTopic: filtered-loan-created-events",
        ),
        "duplicate-filter-name": BASE.replace(b"name: car_created", b"name: loan_created"),
        "tab-indent": BASE.replace(
            b"\n    outputTopic: filtered-loan", b"\n\toutputTopic: filtered-loan"
        ),
        "tab-in-value": BASE.replace(FIRST_VALUE, b"value: Loan\tCreated"),
        "bom": b"\xef\xbb\xbf" + BASE,
        "bom-inside": BASE.replace(FIRST_VALUE, b"value: Loan\xef\xbb\xbfCreated"),
        "deep-list": BASE.replace(FIRST_VALUE, b"value: " + b"[" * DEEP + b"]" * DEEP),
        "deep-map": BASE.replace(FIRST_VALUE, b"value: " + b"{a: " * DEEP + b"1" + b"}" * DEEP),
        "deep-block": BASE.replace(
            FIRST_VALUE, b"value:\n" + b"".join(b" " * (9 + k) + b"- \n" for k in range(300))
        ),
        "latin-1": BASE.replace(FIRST_VALUE, b"value: Cr\xe9\xe9"),
        "lone-continuation-byte": BASE.replace(FIRST_VALUE, b"value: \x80"),
        "utf-16": BASE.decode().encode("utf-16"),
        "nul-byte": BASE.replace(FIRST_VALUE, b"value: a\x00b"),
        "escape-byte": BASE.replace(FIRST_VALUE, b"value: a\x1bb"),
        "cr-only-lines": BASE.replace(b"\n", b"\r"),
        "crlf-lines": BASE.replace(b"\n", b"\r\n"),
        "complex-key": BASE.replace(FIRST_VALUE, b"? [a, b]\n        : x"),
        "map-key": BASE.replace(FIRST_VALUE, b"{a: 1}: x"),
        "null-key": BASE.replace(FIRST_VALUE, b"~: x"),
        "version-nan": BASE.replace(b"version: 1", b"version: .nan"),
        "version-text": BASE.replace(b"version: 1", b"version: one"),
        "top-level-typo": BASE.replace(b"filters:", b"filter:"),
        "unclosed-quote": BASE.replace(FIRST_VALUE, b"value: 'LoanCreated"),
        "unclosed-flow": BASE.replace(FIRST_VALUE, b"value: [LoanCreated"),
        "bad-escape": BASE.replace(FIRST_VALUE, b'value: "Loan\\qCreated"'),
        "escaped-newline": BASE.replace(FIRST_VALUE, b'value: "Loan\\nCreated"'),
        "escaped-nul": BASE.replace(FIRST_VALUE, b'value: "Loan\\0Created"'),
        "escaped-surrogate": BASE.replace(FIRST_VALUE, b'value: "\\ud83d"'),
        "folded-description": BASE.replace(
            b"description: Loan created events for the loan consumer",
            b"description: >\n      two\n\n      paragraphs",
        ),
        "literal-description": BASE.replace(
            b"description: Loan created events for the loan consumer",
            b"description: |\n      line one\n      line two",
        ),
        "long-line": BASE.replace(FIRST_VALUE, b"value: " + b"x" * 1_000_000),
    }
    for key, value in raw.items():
        if key not in ("empty", "utf-16", "cr-only-lines", "crlf-lines") and not key.startswith(
            ("a-", "only", "document", "filters-", "multi", "top", "bom")
        ):
            assert value != BASE, key  # each replacement took
    return [Variant(f"yaml-{k}", v) for k, v in raw.items()]


VARIANTS = model_variants() + yaml_variants()


def test_the_corpus_is_at_least_as_large_as_the_issues() -> None:
    assert len(VARIANTS) >= 177
    assert len({v.id for v in VARIANTS}) == len(VARIANTS)


# --- a SQL lexer, as Flink's (Calcite's) parser reads the generated text ---------------------

TOKENS = re.compile(
    r"""(?P<space>[ \t\n\r\f]+)
    |(?P<comment>--[^\n\r]*)
    |(?P<hint>/\*\+)
    |(?P<hint_end>\*/)
    |(?P<block>/\*)
    |(?P<string>'(?:[^']|'')*')
    |(?P<ident>`(?:[^`]|``)*`)
    |(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct><>|<=|>=|[(),;=<>+\-*])""",
    re.VERBOSE,
)
WORDS = {
    "CREATE",
    "TABLE",
    "IF",
    "NOT",
    "EXISTS",
    "STRING",
    "BIGINT",
    "WITH",
    "INSERT",
    "INTO",
    "SELECT",
    "FROM",
    "WHERE",
    "AS",
    "AND",
    "OR",
    "IN",
    "BETWEEN",
    "IS",
    "NULL",
    "TRY_CAST",
    "DOUBLE",
    "JSON_VALUE",
    "REGEXP",
    "OPTIONS",
    "TRUE",
    "FALSE",
    "LIKE",
    "ESCAPE",
}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str

    @property
    def value(self) -> str:
        """A literal's or identifier's content, unescaped."""
        if self.kind == "string":
            return self.text[1:-1].replace("''", "'")
        if self.kind == "ident":
            return self.text[1:-1].replace("``", "`")
        return self.text


def lex(sql: str) -> list[Token]:
    out, at = [], 0
    while at < len(sql):
        m = TOKENS.match(sql, at)
        assert m, f"no SQL token at {sql[at : at + 40]!r}"
        kind = m.lastgroup
        assert kind != "block", "a block comment: its end could be anywhere"
        if kind == "comment":
            # a comment ends at a line feed, and nothing in it may look like one to a reader
            assert sql[m.end() : m.end() + 1] in ("\n", ""), m.group()
            assert len(m.group().splitlines()) == 1, m.group()
        if kind != "space":
            out.append(Token(kind, m.group()))
        at = m.end()
    return out


def statements(tokens: list[Token]) -> list[list[Token]]:
    """Split at top-level semicolons; comments are kept apart (they are not statements)."""
    found, current = [], []
    for t in tokens:
        if t.kind == "comment":
            continue
        if t.kind == "punct" and t.text == ";":
            found.append(current)
            current = []
        else:
            current.append(t)
    assert not current, "text after the last statement"
    return found


def skeleton(tokens: list[Token]) -> list[tuple[str, str]]:
    """The statement's shape: literals and numbers stand for any value, the rest as written."""
    return [
        (t.kind, "" if t.kind in ("string", "number") else t.text.upper())
        for t in tokens
        if t.kind != "comment"
    ]


# --- an interpreter of the generated WHERE clause, SQL's three-valued logic ------------------

JAVA_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?)"
)


def try_cast_double(text: str | None) -> float | None:
    """Flink's TRY_CAST(STRING AS DOUBLE): Java's Double.valueOf (which trims chars <= space)."""
    if text is None:
        return None
    s = text.strip("".join(chr(k) for k in range(33)))
    if not JAVA_DOUBLE.fullmatch(s):
        return None
    body = s.rstrip("fFdD") if not s.lower().startswith(("nan", "+nan", "-nan")) else s
    if "x" in body.lower():
        return float.fromhex(body)
    return float(body.replace("Infinity", "inf"))


def json_value(document: str | None, path: str) -> str | None:
    try:
        node: Any = json.loads(document) if document is not None else None
    except ValueError:
        return None
    assert path.startswith("$")
    for name, index in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]", path[1:]):
        if name:
            node = node.get(name) if isinstance(node, dict) else None
        else:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
    if node is None or isinstance(node, dict | list):
        return None
    return ("true" if node else "false") if isinstance(node, bool) else str(node)


class Where:
    """Parses the tokens after WHERE once; `holds(record)` evaluates them."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.at = tokens, 0
        self.tree = self.disjunction()
        assert self.at == len(tokens), tokens[self.at :]

    def peek(self, *texts: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at].text.upper() in texts

    def take(self, *texts: str) -> Token:
        t = self.tokens[self.at]
        assert not texts or t.text.upper() in texts, (t, texts)
        self.at += 1
        return t

    def disjunction(self):
        parts = [self.conjunction()]
        while self.peek("OR"):
            self.take()
            parts.append(self.conjunction())
        return lambda r: any3([p(r) for p in parts])

    def conjunction(self):
        parts = [self.predicate()]
        while self.peek("AND"):
            self.take()
            parts.append(self.predicate())
        return lambda r: all3([p(r) for p in parts])

    def predicate(self):
        if self.peek("("):
            self.take()
            inner = self.disjunction()
            self.take(")")
            return inner
        left = self.operand()
        negated = self.peek("NOT") and bool(self.take())
        if self.peek("IS"):
            self.take()
            is_not = self.peek("NOT") and bool(self.take())
            self.take("NULL")
            return lambda r: (left(r) is None) != is_not
        if self.peek("IN"):
            self.take()
            self.take("(")
            items = [self.operand()]
            while self.peek(","):
                self.take()
                items.append(self.operand())
            self.take(")")
            return lambda r: not3(in3(left(r), [i(r) for i in items]), negated)
        if self.peek("BETWEEN"):
            self.take()
            low = self.operand()
            self.take("AND")
            high = self.operand()
            return lambda r: not3(
                all3([compare(left(r), ">=", low(r)), compare(left(r), "<=", high(r))]), negated
            )
        if self.peek("LIKE"):
            self.take()
            pattern = self.take().value
            assert "_" not in pattern and pattern.count("%") == 1 and pattern.endswith("%")
            prefix = pattern[:-1]
            return lambda r: not3(None if left(r) is None else left(r).startswith(prefix), negated)
        if not self.peek("=", "<>", "<", ">", "<=", ">="):
            return left  # a boolean function: REGEXP
        op = self.take().text
        right = self.operand()
        return lambda r: compare(left(r), op, right(r))

    def operand(self):
        t = self.take()
        if t.kind == "string":
            return lambda r, v=t.value: v
        if t.kind == "number" or t.text == "-":
            number = -float(self.take().text) if t.text == "-" else float(t.text)
            assert math.isfinite(number), t
            return lambda r: number
        if t.kind == "ident":
            return lambda r, name=t.value: None if r.get(name) is None else str(r[name])
        call = t.text.upper()
        self.take("(")
        if call == "TRY_CAST":
            inner = self.operand()
            self.take("AS")
            self.take("DOUBLE")
            self.take(")")
            return lambda r: try_cast_double(inner(r))
        if call == "JSON_VALUE":
            document = self.operand()
            self.take(",")
            path = self.take().value
            self.take(")")
            return lambda r: json_value(document(r), path)
        if call == "REGEXP":
            text = self.operand()
            self.take(",")
            regex = re.compile(self.take().value, re.ASCII)  # java.util.regex's default classes
            self.take(")")
            return lambda r: None if text(r) is None else regex.search(text(r)) is not None
        raise AssertionError(f"unknown function {t}")


def all3(values: list[bool | None]) -> bool | None:
    return False if False in values else (None if None in values else True)


def any3(values: list[bool | None]) -> bool | None:
    return True if True in values else (None if None in values else False)


def not3(value: bool | None, negated: bool) -> bool | None:
    return value if value is None or not negated else not value


def in3(value: Any, items: list[Any]) -> bool | None:
    if value is None:
        return None
    return True if value in items else (None if None in items else False)


def compare(a: Any, op: str, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    return {
        "=": a == b,
        "<>": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[op]


# --- the checks ------------------------------------------------------------------------------

PROBLEM = re.compile(r"^(?P<source>.+?):(?P<line>[0-9]+):(?P<col>[0-9]+): (?P<rest>.+)$")


def assert_refused_at_a_place(exc: FiltersError, variant: Variant, source: str) -> None:
    message = str(exc)
    lines = [ln.strip() for ln in message.splitlines()]
    problems = lines[1:] if lines[0] == "invalid filters:" else lines
    assert problems, message
    text_lines = variant.data.decode("utf-8", "replace").splitlines() or [""]
    for problem in problems:
        m = PROBLEM.match(problem)
        assert m and m["source"] == source, f"no file:line:column in {problem!r}"
        assert 1 <= int(m["line"]) <= len(text_lines) + 1, problem
        assert int(m["col"]) >= 1, problem
        assert len(problem) < 1000, "a refusal quotes at most a short excerpt"
    if variant.path:
        assert any(PROBLEM.match(p)["rest"].startswith(variant.path) for p in problems), (
            variant.path,
            message,
        )


def tame(filters: FilterFile) -> FilterFile:
    """The same file with every value replaced by a harmless one of the same kind (and sign)."""

    def one(v: Any, rank: int = 1) -> Any:
        if isinstance(v, bool):
            return True
        if isinstance(v, int | float):
            negative = v < 0 or (isinstance(v, float) and math.copysign(1, v) < 0)
            return -3 + rank if negative else rank
        return "v" if v is not None else None

    out = []
    for f in filters.filters:
        conditions = []
        for c in f.conditions:
            v = c.value
            if isinstance(v, list) and c.operator.value == "between":
                low, high = one(v[0], 1), one(v[1], 2)
                new: Any = [low, high]
            elif isinstance(v, list):
                new = [one(x) for x in v]
            else:
                new = one(v)
            conditions.append(c.model_copy(update={"value": new}))
        out.append(f.model_copy(update={"conditions": conditions, "description": "tame"}))
    return filters.model_copy(update={"filters": out})


def record_values(c: Any) -> list[str | None]:
    """Field values that probe a condition: its own values as text, and near misses."""
    values = c.value if isinstance(c.value, list) else [c.value]
    out: list[str | None] = [None, "", "x", " 7 ", "1_000", "inf", "Infinity", "NaN", "0x10"]
    for v in values[:8]:
        if v is None:
            continue
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, int | float) and abs(v) < 1e300:
            out += [str(v), repr(float(v)), str(float(v) + 1), str(float(v) - 1), f"{v}d"]
        elif isinstance(v, int | float):
            out += [str(v)]
        else:
            out += [v, v + "x", "x" + v]
    return out


def put(field: str, text: str | None) -> dict[str, Any]:
    if not field.startswith("event_data."):
        return {field: text}
    doc: Any = text
    for name, index in reversed(re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]+)\])?", field)):
        if index:
            doc = [None] * int(index) + [doc]
        doc = {name: doc}
    return {"event_data": json.dumps(doc)}


def assert_evaluator_agrees(filters: FilterFile, script_tokens: list[list[Token]], target) -> None:
    hostile = filters.filters[0]
    if not hostile.enabled:
        return
    insert = next(s for s in script_tokens if s[0].text == "INSERT")
    where = Where(insert[[t.text for t in insert].index("WHERE") + 1 :])
    ids = ["1", CANARY_ID_PREFIX + "1", "cdc-ops-canary", None]
    ops = ["c"] if target is Target.CONFLUENT_NO_OP else ["c", "u", "d", "r"]
    for c in hostile.conditions[:8]:
        for text in record_values(c):
            for event_id in ids:
                for op in ops:
                    record = {"id": event_id, "__op": op, **put(c.field, text)}
                    in_sql = where.tree(record)
                    assert bool(in_sql) == matches(hostile, record), (record, c)


def test_the_sql_lexer_and_interpreter_see_what_flink_would() -> None:
    # the checks below must be able to fail
    with pytest.raises(AssertionError):
        lex("SELECT 1; -- a\u2028b\n")
    with pytest.raises(AssertionError):
        lex("SELECT /* x */ 1;")
    assert len(statements(lex("SELECT ';'; -- ;\nSELECT `;`;"))) == 2
    where = Where(
        lex("(`a` = 'x''y' OR TRY_CAST(`b` AS DOUBLE) BETWEEN -1 AND 2.5) AND `c` IS NULL")
    )
    assert where.tree({"a": "x'y"}) and where.tree({"b": " 2.5d "})
    assert not where.tree({"a": "x'y", "c": "1"}) and not where.tree({"b": "1_0"})
    assert where.tree({"b": "0x1p0"}) and not where.tree({"b": "inf"})


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_a_hostile_variant_is_refused_at_its_place_or_compiles_to_the_same_structure(
    variant: Variant, tmp_path: Path
) -> None:
    path = tmp_path / "filters.yaml"
    path.write_bytes(variant.data)
    try:
        filters = load_filters(path)
    except FiltersError as exc:
        assert_refused_at_a_place(exc, variant, str(path))
        return
    twin = tame(filters)
    for target in Target:
        try:
            compiled = compile_filters(filters, target)
        except FiltersError as exc:
            assert_refused_at_a_place(exc, Variant(variant.id, variant.data), str(path))
            with pytest.raises(FiltersError):  # a refusal for the target, not for the values
                compile_filters(twin, target)
            continue
        script = compiled.script()
        assert script.splitlines() == script.split("\n")[:-1], "a line break other than \\n"
        tokens = lex(script)
        found = statements(tokens)
        expected = statements(lex(compile_filters(twin, target).script()))
        assert len(found) == len(expected) == 1 + 2 * len(filters.active)
        assert [skeleton(s) for s in found] == [skeleton(s) for s in expected]
        comments = [t for t in tokens if t.kind == "comment"]
        assert len(comments) == 2 + len(filters.active)
        words = {t.text.upper() for t in tokens if t.kind == "word"}
        assert words <= WORDS, words - WORDS
        topics = {RAW_TOPIC} | {f.output_topic for f in filters.filters}
        columns = {name for name, _ in (*RAW_COLUMNS, *SINK_COLUMNS, ("__ts_ms", ""))}
        identifiers = {t.value for t in tokens if t.kind == "ident"}
        assert identifiers <= topics | columns, identifiers - topics - columns
        for t in tokens:
            if t.kind == "number":
                assert math.isfinite(float(t.text)), t
                if re.fullmatch("[0-9]+", t.text):  # wider exact literals are DECIMALs, or refused
                    assert int(t.text) < 2**63, t
        assert_values_are_literals(filters, found)
        assert_evaluator_agrees(filters, found, target)


def assert_values_are_literals(filters: FilterFile, found: list[list[Token]]) -> None:
    inserts = [s for s in found if s[0].text == "INSERT"]
    for f, insert in zip(filters.active, inserts, strict=True):
        assert insert[2].value == f.output_topic
        strings = {t.value for t in insert if t.kind == "string"}
        numbers = {
            -float(t.text) if k and insert[k - 1].text == "-" else float(t.text)
            for k, t in enumerate(insert)
            if t.kind == "number"
        }
        for c in f.conditions:
            values = c.value if isinstance(c.value, list) else [c.value]
            for v in values:
                if v is None:
                    continue
                if c.operator.value in ("equals", "in", "notIn", "matches"):
                    text = ("true" if v else "false") if isinstance(v, bool) else str(v)
                    assert text in strings, (text, strings)
                else:
                    assert float(v) in numbers, (v, numbers)
