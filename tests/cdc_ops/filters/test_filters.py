"""filters.yaml: validation with positions, the compiler's safety, Python/SQL agreement."""

from __future__ import annotations

import json
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
