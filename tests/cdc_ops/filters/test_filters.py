"""filters.yaml: validation with positions, the compiler's safety, Python/SQL agreement."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from cdc_ops.filters import files
from cdc_ops.filters.compiler import (
    BOOTSTRAP_PLACEHOLDER,
    CompileError,
    Target,
    compile_filters,
    literal,
)
from cdc_ops.filters.evaluate import matches
from cdc_ops.filters.model import FiltersError, load_filters, parse_filters
from tests.conftest import ROOT

ONE = """
filters:
  - name: {name}
    outputTopic: filtered-x
    conditions:
{conditions}
"""


def one(conditions: str, name: str = "f") -> str:
    return ONE.format(name=name, conditions=conditions)


def test_the_shipped_file_holds_the_seeds_four_routes() -> None:
    ff = load_filters(files.FILTERS_FILE)
    assert {f.output_topic for f in ff.filters} == {
        "filtered-loan-created-events",
        "filtered-loan-payment-submitted-events",
        "filtered-service-events",
        "filtered-car-created-events",
    }


def test_the_committed_sql_is_current() -> None:
    assert files.stale() == [], "run `cdc-ops filters compile` and commit flink_sql/generated/"
    out = subprocess.run(
        [str(ROOT / ".venv/bin/cdc-ops"), "filters", "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


def test_check_and_diff_notice_a_stale_file(tmp_path) -> None:
    source = tmp_path / "filters.yaml"
    source.write_text(files.FILTERS_FILE.read_text())
    out = tmp_path / "generated"
    assert len(files.write(source, out)) == 3 and files.stale(source, out) == []
    source.write_text(source.read_text().replace("value: CarCreated", "value: CarRegistered"))
    assert len(files.stale(source, out)) == 3
    assert "+WHERE (`event_type` = 'CarRegistered')" in files.diff(source, out)


def test_errors_name_file_line_column_and_allowed_values() -> None:
    text = """filters:
  - name: Bad-Name
    outputTopic: "topic with spaces"
    operations: [c, x]
    match: most
    conditions:
      - field: colour
        operator: eq
        value: 1
      - field: event_type
        operator: between
        value: [5, 1]
"""
    with pytest.raises(FiltersError) as err:
        parse_filters(text, "filters.yaml")
    message = str(err.value)
    assert "filters.yaml:2:11: filters[0].name: 'Bad-Name' is not a valid filter name" in message
    assert "filters.yaml:3:18: filters[0].outputTopic:" in message
    assert (
        "filters.yaml:4:21: filters[0].operations[1]: 'x' is not one of: 'c', 'u', 'd' or 'r'"
        in message
    )
    assert "filters[0].match: 'most' is not one of: all, any" in message
    assert "filters.yaml:7:16: filters[0].conditions[0].field: unknown field 'colour'" in message
    assert "filters.yaml:8:19: filters[0].conditions[0].operator: 'eq' is not one of" in message
    assert "filters[0].conditions[0].operator: 'eq' is not one of: 'equals', 'in'" in message
    assert "filters[0].conditions[1]: between: low 5 is above high 1" in message


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        (
            "      - {field: event_type, operator: matches, value: '(unclosed'}",
            "invalid regular expression",
        ),
        ("      - {field: event_type, operator: in, value: []}", "non-empty list"),
        ("      - {field: event_type, operator: greaterThan, value: ten}", "needs a number"),
        ("      - {field: event_type, operator: isNull, value: 1}", "takes no value"),
    ],
)
def test_operator_values_are_checked(condition: str, error: str) -> None:
    with pytest.raises(FiltersError, match=error):
        parse_filters(one(condition))


def test_hostile_values_stay_literals() -> None:
    hostile = "x'); DROP TABLE `raw-business-events`; --"
    ff = parse_filters(
        one(f"      - {{field: event_type, operator: equals, value: {json.dumps(hostile)}}}")
    )
    sql = compile_filters(ff, Target.APACHE_FLINK).statements[0].insert
    assert "WHERE (`event_type` = 'x''); DROP TABLE `raw-business-events`; --')" in sql
    assert sql.count(";") == 3  # the statement's own, and the two inside the literal
    with pytest.raises(CompileError, match="control characters"):
        literal("a\nb")
    with pytest.raises(FiltersError):  # a field cannot smuggle SQL either
        parse_filters(one("      - {field: 'event_type` = 1 OR `x', operator: isNull}"))
    with pytest.raises(FiltersError):
        parse_filters(
            ONE.format(name="f", conditions="      - {field: id, operator: isNull}").replace(
                "filtered-x", "x`; DROP"
            )
        )


def test_every_operator_and_json_paths_compile() -> None:
    amount = "event_data.eventBody.entities[0].updatedAttributes.loan.loanAmount"
    ff = parse_filters(
        one(f"""      - {{field: event_type, operator: in, value: [A, B]}}
      - {{field: event_name, operator: notIn, value: [C]}}
      - {{field: '{amount}', operator: between, value: [100, 5000.5]}}
      - {{field: event_data.eventHeader.eventName, operator: matches, value: '^Loan.*'}}
      - {{field: saved_date, operator: isNotNull}}""")
    )
    where = compile_filters(ff, Target.CONFLUENT).statements[0].insert.split("WHERE ", 1)[1]
    assert where == (
        "(`event_type` IN ('A', 'B') AND `event_name` NOT IN ('C') AND "
        "TRY_CAST(JSON_VALUE(`event_data`,"
        " '$.eventBody.entities[0].updatedAttributes.loan.loanAmount')"
        " AS DOUBLE) BETWEEN 100 AND 5000.5 AND REGEXP(JSON_VALUE(`event_data`,"
        " '$.eventHeader.eventName'), '^Loan.*') AND `saved_date` IS NOT NULL) AND `__op` IN ('c');"
    )


def test_no_op_variant_adds_metadata_and_refuses_operation_filters() -> None:
    ff = load_filters(files.FILTERS_FILE)
    compiled = compile_filters(ff, Target.CONFLUENT_NO_OP)
    assert "'c' AS `__op`" in compiled.statements[0].insert
    assert "`__op` STRING" not in compiled.source_ddl
    updates = parse_filters(
        one("      - {field: id, operator: isNotNull}").replace(
            "    conditions:", "    operations: [u]\n    conditions:"
        )
    )
    with pytest.raises(CompileError, match="no-op variant has no __op"):
        compile_filters(updates, Target.CONFLUENT_NO_OP)


def test_apache_flink_gets_servers_and_a_group_per_statement() -> None:
    ff = load_filters(files.FILTERS_FILE)
    compiled = compile_filters(ff, Target.APACHE_FLINK, bootstrap="127.0.0.1:9092")
    assert "'properties.bootstrap.servers' = '127.0.0.1:9092'" in compiled.source_ddl
    groups = {
        s.insert.split("'properties.group.id' = ")[1].split(")")[0] for s in compiled.statements
    }
    assert len(groups) == 4
    assert BOOTSTRAP_PLACEHOLDER in compile_filters(ff, Target.APACHE_FLINK).source_ddl


def record(**kw) -> dict:
    entity = {"updatedAttributes": {"loan": {"loanAmount": 2500}}}
    data = {"eventBody": {"entities": [entity]}, "eventHeader": {"eventName": "LoanCreated"}}
    base = {
        "id": "1",
        "event_name": "LoanCreated",
        "event_type": "LoanCreated",
        "__op": "c",
        "event_data": json.dumps(data),
    }
    return base | kw


def test_python_evaluation_follows_sql_semantics() -> None:
    ff = load_filters(files.FILTERS_FILE)
    by_name = {f.name: f for f in ff.filters}
    assert matches(by_name["loan_created"], record())
    assert not matches(by_name["loan_created"], record(__op="u"))
    assert not matches(by_name["loan_created"], record(event_type=None))  # NULL is not equal
    assert matches(by_name["service_events"], record(event_name="CarServiceDone"))
    amount = parse_filters(
        one(
            "      - {field: 'event_data.eventBody.entities[0].updatedAttributes.loan.loanAmount',"
            " operator: greaterThan, value: 1000}"
        )
    )
    assert matches(amount.filters[0], record())
    assert not matches(amount.filters[0], record(event_data='{"eventBody": {}}'))
    assert not matches(amount.filters[0], record(event_data="not json"))


@pytest.mark.parametrize(
    ("text", "place"),
    [
        # a newline in the description would end the generated -- comment and start SQL
        (
            ONE.format(name="f", conditions="      - {field: id, operator: isNull}").replace(
                "    outputTopic", '    description: "x\\nDROP TABLE t;"\n    outputTopic'
            ),
            "filters.yaml:4:18: filters[0].description: control characters",
        ),
        (
            one("      - {field: event_type, operator: equals, value: .nan}"),
            "filters.yaml:6:54: filters[0].conditions[0].value: nan is not a finite number",
        ),
        (
            one("      - {field: event_type, operator: in, value: [1, .inf]}"),
            "filters.yaml:6:43: filters[0].conditions[0].value: inf is not a finite number",
        ),
        (
            one("      - {field: id, operator: greaterThan, value: -.inf}"),
            "filters.yaml:6:51: filters[0].conditions[0].value: -inf is not a finite number",
        ),
        (
            one('      - {field: event_type, operator: equals, value: "a\\tb"}'),
            "filters.yaml:6:54: filters[0].conditions[0].value: control characters",
        ),
    ],
)
def test_hostile_filters_are_refused_at_their_place_in_the_file(text, place) -> None:
    with pytest.raises(FiltersError) as raised:
        parse_filters(text)
    assert place in str(raised.value)


def test_the_compiler_writes_no_bare_word_for_a_number_and_one_line_per_description() -> None:
    for value in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(CompileError, match="not a finite number"):
            literal(value)
    ff = parse_filters(
        ONE.format(name="f", conditions="      - {field: id, operator: isNull}").replace(
            "    outputTopic", "    description: 'loans; -- over 1000'\n    outputTopic"
        )
    )
    script = compile_filters(ff, Target.APACHE_FLINK).script()
    assert "\n-- cdc-filter-f: loans; -- over 1000\n" in script


def with_operations(operations: str, conditions: str = "      - {field: id, operator: isNotNull}"):
    return parse_filters(
        one(conditions).replace("    conditions:", f"    operations: {operations}\n    conditions:")
    )


def test_a_canary_passes_a_filter_of_more_than_inserts_only_as_an_insert() -> None:
    from cdc_ops.canary.marker import CANARY_ID_PREFIX

    ff = with_operations("[c, u, d, r]")
    where = compile_filters(ff, Target.APACHE_FLINK).statements[0].insert.split("WHERE ", 1)[1]
    assert where == (
        "(`id` IS NOT NULL) AND `__op` IN ('c', 'u', 'd', 'r')"
        " AND (`__op` = 'c' OR `id` IS NULL OR `id` NOT LIKE 'cdc-ops-canary-%');"
    )
    assert CANARY_ID_PREFIX == "cdc-ops-canary-"  # the pattern above holds no LIKE wildcard
    f = ff.filters[0]
    canary = CANARY_ID_PREFIX + "route-1"
    assert matches(f, record(id=canary, __op="c"))
    assert not matches(f, record(id=canary, __op="d"))
    assert not matches(f, record(id=canary, __op="r"))
    assert matches(f, record(id="cdc-ops-canary", __op="d"))  # not the prefix: a business id
    assert matches(f, record(id="42", __op="d")) and matches(f, record(id="42", __op="u"))
    # a filter of inserts only is compiled (and evaluated) as before
    inserts = with_operations("[c]")
    assert "LIKE" not in compile_filters(inserts, Target.CONFLUENT).statements[0].insert
    assert matches(inserts.filters[0], record(id=canary, __op="c"))


def test_the_canary_prefix_is_matched_exactly_whatever_it_holds() -> None:
    from cdc_ops.filters.compiler import _like_prefix

    assert _like_prefix("cdc-ops-canary-") == "'cdc-ops-canary-%'"
    assert _like_prefix("a_b%c\\") == "'a\\_b\\%c\\\\%' ESCAPE '\\'"


def test_a_target_that_cannot_express_a_filter_names_its_place() -> None:
    ff = with_operations("[c, d]")
    with pytest.raises(FiltersError) as raised:
        compile_filters(ff, Target.CONFLUENT_NO_OP)
    assert str(raised.value).startswith("filters.yaml:5:5: filters[0].operations: filter f")


@pytest.mark.parametrize(
    ("text", "place"),
    [
        (
            one("      - {field: id, operator: equals, value: a}").replace("filtered-x", "9-lives"),
            None,
        ),
        (
            one("      - {field: 'event_data.a\\n', operator: isNull}"),
            "filters.yaml:6:17: filters[0].conditions[0].field: unknown field",
        ),
        (
            one('      - {field: id, operator: equals, value: "\\u2028"}'),
            "filters.yaml:6:46: filters[0].conditions[0].value: control characters",
        ),
        (
            one("      - {field: id, operator: equals, value: a, value: b}"),
            "filters.yaml:6:49: not valid YAML: duplicate key 'value'",
        ),
        (
            one("      - {field: id, operator: equals, value: !!int x}"),
            "filters.yaml:6:46: not valid YAML: cannot read int 'x'",
        ),
        (
            one('      - {field: id, operator: equals, value: "a\0b"}'),
            "filters.yaml:6:48: not valid YAML: character '\\x00' is not allowed",
        ),
        (
            one("      - {field: id, operator: greaterThan, value: 1" + "0" * 400 + "}"),
            "filters.yaml:6:9: filters[0].conditions[0]: greaterThan needs a number a DOUBLE",
        ),
        (
            one("      - {field: id, operator: matches, value: '(?P<n>a)'}"),
            "filters.yaml:6:9: filters[0].conditions[0]: matches: invalid regular expression",
        ),
        (
            one("      - {field: id, operator: equals, value: 2024-01-01}"),
            "filters.yaml:6:46: filters[0].conditions[0].value: 2024-01-01 is read by YAML",
        ),
    ],
)
def test_what_the_hostile_corpus_found_is_refused_at_its_place(text, place) -> None:
    if place is None:  # a topic starting with a digit is a topic: back-quoted, it compiles
        sql = compile_filters(parse_filters(text), Target.CONFLUENT).statements[0].insert
        assert sql.startswith("INSERT INTO `9-lives`\n")
        return
    with pytest.raises(FiltersError) as raised:
        parse_filters(text)
    assert place in str(raised.value)


def test_a_file_that_is_not_utf8_is_refused_at_the_byte(tmp_path) -> None:
    path = tmp_path / "filters.yaml"
    path.write_bytes(b"filters:\n  - name: caf\xe9\n")
    with pytest.raises(FiltersError, match=re.escape(f"{path}:2:14: not UTF-8: byte 0xe9")):
        load_filters(path)
