"""The shape a newcomer relies on: small modules and functions, and a README map that names every
room of the code (so they know which one to open to add a loader, a ranker or a channel)."""

import ast
import re

from tests.conftest import ROOT

PACKAGE = ROOT / "assistant"
MODULES = sorted(PACKAGE.rglob("*.py"))


def test_no_module_over_400_lines_and_no_function_over_60():
    too_long = []
    for path in MODULES:
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > 400:
            too_long.append(f"{path.relative_to(ROOT)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, too_long


def test_the_readme_map_names_every_package_and_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    mapped = {m.rstrip("/") for m in re.findall(r"`(assistant/[\w/.]+)`", readme)}
    packages = [p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    modules = [p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    rooms = {f"assistant/{p.name}" for p in packages + modules}
    assert rooms <= mapped, sorted(rooms - mapped)
    missing = sorted(p for p in mapped if not (ROOT / p).exists())
    assert not missing, missing
