"""Reading terraform/ with python-hcl2: the parsed blocks with HCL's quoting taken off."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

from tests.conftest import ROOT

TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
REQUIRED_FILES = ("versions.tf", "variables.tf", "main.tf", "outputs.tf", "README.md")
VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")


def unquote(value: Any) -> Any:
    """hcl2 keeps the quotes of string literals and keys; drop them, recursively."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {
            unquote(k): unquote(v)
            for k, v in value.items()
            if k not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    return value


def tf_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tf"))


def all_tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


@cache
def parse(path: Path) -> dict[str, Any]:
    with open(path) as f:
        return unquote(hcl2.load(f))


def blocks(directory: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, body) of every `kind "label" {}` block in a directory (variable, output, module)."""
    for path in tf_files(directory):
        for entry in parse(path).get(kind, []):
            yield from entry.items()


def resources(directory: Path, kind: str = "resource") -> Iterator[tuple[str, str, dict]]:
    """(type, name, body) of every resource (or data source) in a directory."""
    for path in tf_files(directory):
        for entry in parse(path).get(kind, []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    yield rtype, name, body


def variables(directory: Path) -> dict[str, dict[str, Any]]:
    return dict(blocks(directory, "variable"))


def outputs(directory: Path) -> dict[str, dict[str, Any]]:
    return dict(blocks(directory, "output"))


def code_text(path: Path) -> str:
    """The file without comment lines: what Terraform evaluates."""
    return "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith(("#", "//"))
    )


def variables_used(directory: Path) -> set[str]:
    """`var.x` references outside variables.tf (a validation naming its own variable is no use)."""
    used: set[str] = set()
    for path in tf_files(directory):
        if path.name != "variables.tf":
            used |= set(VAR_REF.findall(code_text(path)))
    return used


def local_name(template: str, project: str, environment: str) -> str:
    """Evaluates the one naming form the modules use: "${local.name}-suffix"."""
    assert template.startswith("${local.name}"), template
    return template.replace("${local.name}", f"{project}-{environment}")


def locals_of(directory: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in tf_files(directory):
        for entry in parse(path).get("locals", []):
            found.update(entry)
    return found


def resolve_name(directory: Path, template: str, project: str, environment: str) -> str:
    """A resource name as Terraform would make it: `${local.x}` references to plain string
    locals are followed, down to the one naming form every module uses, "${local.name}-suffix"."""
    local_values = locals_of(directory)
    pattern = re.compile(r"\$\{local\.(\w+)\}")
    for _ in range(10):
        match = next((m for m in pattern.finditer(template) if m.group(1) != "name"), None)
        if match is None:
            break
        value = local_values[match.group(1)]
        assert isinstance(value, str), f"local.{match.group(1)} is not a plain string"
        # a local that is a whole interpolation, "${...}", substitutes without its wrapper
        template = template.replace(match.group(0), value)
    return local_name(template, project, environment)


def for_each_entries(directory: Path, body: dict) -> list[dict]:
    """The entries a `for_each = local.x` resource is made for: local x, or the map local it
    filters (`{ for k, v in local.y : ... if ... }`), taken whole: every entry it may create."""
    local_values = locals_of(directory)
    ref = re.fullmatch(r"\$\{local\.(\w+)\}", str(body.get("for_each", "")))
    assert ref, f"for_each is not a local: {body.get('for_each')}"
    value = local_values[ref.group(1)]
    for _ in range(5):
        if isinstance(value, dict):
            return list(value.values())
        inner = re.search(r"local\.(\w+)", str(value))
        assert inner, f"cannot follow {value}"
        value = local_values[inner.group(1)]
    raise AssertionError(f"cannot follow for_each {body['for_each']}")


def made_values(directory: Path, body: dict, attribute: str) -> list[str]:
    """An attribute of a resource for each instance: literal, or `${each.value.x}` looked up."""
    value = body[attribute]
    each = re.fullmatch(r"\$\{each\.value\.(\w+)\}", value)
    if each is None:
        return [value]
    return [entry[each.group(1)] for entry in for_each_entries(directory, body)]
