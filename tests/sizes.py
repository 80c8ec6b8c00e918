"""Sizes of the core: every class and function over a line count, and each module's length.

    python -m tests.sizes          # classes and functions over 60 lines, module lengths
    python -m tests.sizes 40       # another threshold

The core is everything under ``auth_sessions/`` but the fakes (``testing/``), the vendor
descriptions and the CLI/demo scripts. ``tests/test_layout.py`` keeps functions under 60.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

PACKAGE = Path(__file__).resolve().parent.parent / "auth_sessions"
OUTSIDE_CORE = ("testing", "vendors")
SCRIPTS = ("cli.py", "demo.py")


def core_modules() -> List[Path]:
    return [
        p
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.relative_to(PACKAGE).parts[0] not in OUTSIDE_CORE and p.name not in SCRIPTS
    ]


def code_lines(path: Path) -> int:
    """Lines that are neither blank, comments nor docstrings."""
    tree = ast.parse(path.read_text())
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docs.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return sum(
        1
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.strip() and not line.strip().startswith("#") and number not in docs
    )


def long_definitions(limit: int, *, classes: bool = False) -> List[Tuple[str, int]]:
    """``(module:line name, lines)`` of each function (and class) over ``limit`` lines."""
    kinds: Tuple[type, ...] = (ast.FunctionDef, ast.AsyncFunctionDef)
    if classes:
        kinds += (ast.ClassDef,)
    found = []
    for path in core_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, kinds):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > limit:
                    found.append((f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}", size))
    return found


def long_functions(limit: int) -> List[Tuple[str, int]]:
    return long_definitions(limit)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    limit = int(args[0]) if args else 60
    rows = long_definitions(limit, classes=True)
    print(f"classes and functions over {limit} lines in the core: {len(rows)}")
    for where, size in sorted(rows, key=lambda r: -r[1]):
        print(f"  {size:4d}  {where}")
    print("\nmodules (lines / code lines, no docstrings or comments):")
    for path in core_modules():
        lines = len(path.read_text().splitlines())
        print(f"  {lines:4d} / {code_lines(path):4d}  {path.relative_to(PACKAGE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
