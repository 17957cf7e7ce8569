"""The arrows of docs/architecture.md point one way: trmweb -> puzzles -> solver. solver/ imports neither
Django nor the web side (it runs as a library and a command line alone), and puzzles/ never imports trmweb."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"solver": ("django", "rest_framework", "channels", "celery", "puzzles", "trmweb"), "puzzles": ("trmweb",)}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_no_import_points_upward(package):
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = {name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN[package]}
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert not wrong, f"{package}/ must not import these (docs/architecture.md, layout and its rules): {wrong}"


def test_the_solver_library_never_imports_its_command_line():
    # The command line (solver/cli/) parses arguments and calls the library; the library is used by the
    # worker and by scripts too, and must not reach back into argument parsing.
    library = [path for path in sorted((ROOT / "solver").rglob("*.py"))
               if "cli" not in path.relative_to(ROOT / "solver").parts and path.name != "__main__.py"]
    wrong = {str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path) if name.startswith("solver.cli"))
             for path in library}
    assert not {path: names for path, names in wrong.items() if names}
