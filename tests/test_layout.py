"""The shape the house style promises, kept by tests: every public class states its
thread-safety, no vendor name in shared code, vendor modules are short descriptions that
import nothing from the requests layer, and no core function runs over 60 lines."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import List

import pytest

import auth_sessions

from .sizes import long_functions

PACKAGE = Path(auth_sessions.__file__).parent
VENDOR_NAMES = re.compile(r"sohar|cair|orum|cobee|manis|x-retry-in", re.IGNORECASE)
VENDOR_MODULES = sorted(p for p in (PACKAGE / "vendors").glob("*.py") if p.name != "__init__.py")
# what a vendor description may build on: values and pure wire code (_jwt signs), nothing
# that sends
ALLOWED_IN_VENDORS = {
    "_parse",
    "_vendor",
    "_rfc6749",
    "_jwt",
    "_urls",
    "endpoint",
    "errors",
    "tokens",
}


def _shared_modules() -> List[Path]:
    skip = {"vendors", "testing"}
    return [
        *sorted(
            p
            for p in PACKAGE.rglob("*.py")
            if not skip & set(p.relative_to(PACKAGE).parts) and p.name != "__init__.py"
        ),
        PACKAGE / "stores" / "__init__.py",
    ]


@pytest.mark.parametrize(
    "name", [n for n in auth_sessions.__all__ if inspect.isclass(getattr(auth_sessions, n))]
)
def test_every_public_class_states_its_thread_safety(name: str) -> None:
    doc = inspect.getdoc(getattr(auth_sessions, name)) or ""
    assert re.search(r"thread", doc, re.IGNORECASE), f"{name}'s docstring says nothing of threads"


@pytest.mark.parametrize("path", _shared_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_vendor_name_in_shared_modules(path: Path) -> None:
    hits = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if VENDOR_NAMES.search(line)
    ]
    assert hits == []


@pytest.mark.parametrize("path", VENDOR_MODULES, ids=lambda p: p.name)
def test_a_vendor_module_is_a_short_description(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 100
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 2:
            imported.add((node.module or "").split(".")[0])
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "level", 0) == 0:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert not any(str(n).startswith(("requests", "urllib3")) for n in names), path.name
    assert imported <= ALLOWED_IN_VENDORS, imported - ALLOWED_IN_VENDORS
    assert "VENDOR = register(" in path.read_text()


def test_no_core_function_over_60_lines() -> None:
    assert long_functions(60) == []
