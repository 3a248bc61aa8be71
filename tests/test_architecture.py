"""The layer map of docs/architecture.md holds against the real imports of every module under gdl/.

Every ``import`` / ``from … import`` statement (module level and inside functions, found by
walking the whole ``ast``) that names a gdl package must name the importing package itself
or one its row in the table allows; third-party bans are held the same way.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "gdl"
CELL = re.compile(r"`([A-Za-z_][\w.]*)`")


def table_rows(heading_text: str):
    """The rows of the first markdown table after the line containing ``heading_text``:
    [(first cell, second cell)], header and separator dropped."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if heading_text in line)
    rows, in_table = [], False
    for line in lines[start:]:
        if line.startswith("|"):
            in_table = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if set(cells[0]) <= {"-", ":"} or cells[0] == "package":
                continue
            rows.append((cells[0], cells[1]))
        elif in_table:
            break
    return rows


def allowed_map():
    """{layer: set of layers it may import} from the doc's table ('gdl.nn' → 'nn'; 'gdl' → '')."""
    out = {}
    for first, second in table_rows("| package | may import"):
        (name,) = CELL.findall(first)
        out[_layer_of_name(name)] = {_layer_of_name(n) for n in CELL.findall(second)}
    return out


def banned_map():
    return {_layer_of_name(CELL.findall(a)[0]): set(CELL.findall(b)) for a, b in table_rows("| package | must not import")}


def _layer_of_name(dotted: str) -> str:
    """'gdl.nn.graph._egnn' → 'nn'; 'gdl' → ''; 'gdl.cli' → 'cli'."""
    parts = dotted.split(".")
    assert parts[0] == "gdl", dotted
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of_file(path: Path, root: Path) -> str:
    rel = path.relative_to(root / "gdl")
    if len(rel.parts) == 1:  # gdl/__init__.py, gdl/cli.py
        return "" if rel.name == "__init__.py" else rel.stem
    return rel.parts[0]


def imported_modules(path: Path, root: Path):
    """[(line, dotted module name)] of every import in the file (the whole tree is walked, so
    imports inside functions count), relative ones resolved; ``from gdl import nn`` → 'gdl.nn'."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "gdl":
                found += [(node.lineno, f"gdl.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return found


def describe(layer: str) -> str:
    return f"gdl.{layer}" if layer else "gdl"


def upward_imports(root: Path, allowed):
    """'file:line: … (rule: …)' for every import of a gdl package the importer's row does not allow."""
    out = []
    for path in sorted((root / "gdl").rglob("*.py")):
        layer = layer_of_file(path, root)
        for line, target in imported_modules(path, root):
            if target != "gdl" and not target.startswith("gdl."):
                continue
            dep = _layer_of_name(target)
            if dep and dep != layer and dep not in allowed.get(layer, set()):  # bare `import gdl` is fine
                ok = ", ".join(sorted(describe(d) for d in allowed.get(layer, set()))) or "nothing in gdl"
                out.append(f"{path.relative_to(root)}:{line}: {describe(layer)} imports {target} "
                           f"(rule: {describe(layer)} may import {ok})")
    return out


def test_every_package_has_a_row():
    allowed = allowed_map()
    layers = {layer_of_file(p, ROOT) for p in PACKAGE.rglob("*.py")}
    missing = sorted(describe(layer) for layer in layers - set(allowed))
    assert not missing, f"packages under gdl/ without a row in docs/architecture.md: {missing}"


def test_the_table_is_a_layering():
    """No cycles: following 'may import' never leads back to where it started."""
    allowed = allowed_map()

    def reach(start, seen):
        for dep in allowed.get(start, ()):
            if dep not in seen:
                seen.add(dep)
                reach(dep, seen)
        return seen

    for layer in allowed:
        assert layer not in reach(layer, set()), f"{describe(layer)} can reach itself through the table"
    assert allowed["groups"] == set() and allowed["gauge"] == {"groups"}


def test_no_upward_imports():
    violations = upward_imports(ROOT, allowed_map())
    assert not violations, "upward imports (see docs/architecture.md):\n" + "\n".join(violations)


def test_no_banned_third_party_imports():
    banned = banned_map()
    assert banned, "the third-party table of docs/architecture.md was not found"
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = layer_of_file(path, ROOT)
        for line, target in imported_modules(path, ROOT):
            for ban in banned.get(layer, ()):
                if target == ban or target.startswith(ban + "."):
                    violations.append(f"{path.relative_to(ROOT)}:{line}: {describe(layer)} imports {target} "
                                      f"(rule: {describe(layer)} must not import {ban})")
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("layer, source, expected", [
    ("gauge", "import torch\nimport gdl.nn.graph\n", "gdl/gauge/sub/bad.py:2: gdl.gauge imports gdl.nn.graph "
                                                      "(rule: gdl.gauge may import gdl.groups)"),
    ("nn", "def f():\n    from gdl.testing import check_equivariance\n", "gdl/nn/sub/bad.py:2: gdl.nn imports gdl.testing"),
    ("models", "from gdl import train\n", "gdl/models/sub/bad.py:1: gdl.models imports gdl.train"),
    ("models", "from gdl.testing import x\n", "gdl/models/sub/bad.py:1: gdl.models imports gdl.testing"),
    ("gauge", "from ...testing import strategies\n", "gdl/gauge/sub/bad.py:1: gdl.gauge imports gdl.testing"),
    ("data", "class A:\n    def f(self):\n        import gdl.train._task\n", "gdl/data/sub/bad.py:3: gdl.data imports gdl.train._task"),
])
def test_a_planted_upward_import_is_reported(tmp_path, layer, source, expected):
    """Module level, inside a function, ``from gdl import``, relative: each is caught, with the
    file, the line and the rule."""
    pkg = tmp_path / "gdl" / layer / "sub"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text(source, encoding="utf-8")
    (pkg / "good.py").write_text("import gdl\nimport gdl.groups\nfrom . import bad\n", encoding="utf-8")
    found = upward_imports(tmp_path, allowed_map())
    assert len(found) == 1, found
    assert any(f.startswith(expected) for f in found), found
