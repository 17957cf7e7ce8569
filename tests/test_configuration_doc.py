"""docs/configuration.md names every environment variable the code reads, and only those.

The variables are found by scanning the source of trmweb/, puzzles/ and solver/ for the ways it reads the
environment (the strict readers of trmweb/env.py, os.environ, os.getenv, and the launcher's copy of the
environment, `env`), so a variable added without a line in the table fails here. The documented ones are
the backticked names in the first column of the table's rows.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("trmweb", "puzzles", "solver")
DOC = ROOT / "docs" / "configuration.md"

NAME = r"""["']([A-Z][A-Z0-9_]*)["']"""
READS = [
    re.compile(r"\benv_\w+\(\s*" + NAME),  # env_str("X", ...), env_int, env_bool, ... (trmweb/env.py)
    re.compile(r"\bos\.getenv\(\s*" + NAME),
    re.compile(r"\b(?:os\.environ|env)\s*(?:\.(?:get|setdefault|pop)\(|\[)\s*" + NAME),
    re.compile(NAME + r"\s+(?:not\s+)?in\s+(?:os\.environ|env)\b"),
]
DOCUMENTED_ROW = re.compile(r"^\|([^|]*)\|")


def variables_read() -> dict[str, set[str]]:
    """Each variable the code reads, with the files that read it."""
    found: dict[str, set[str]] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for pattern in READS:
                for match in pattern.finditer(text):
                    found.setdefault(match.group(1), set()).add(str(path.relative_to(ROOT)))
    return found


def variables_documented() -> set[str]:
    names = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        row = DOCUMENTED_ROW.match(line)
        if row:
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", row.group(1)))
    return names


def test_the_scan_finds_the_ways_the_code_reads_variables():
    read = variables_read()
    # One of each kind of read: strict readers, the launcher's env dict, setdefault.
    assert "trmweb/settings.py" in read["TRM_JOB_TIME_LIMIT"]
    assert "trmweb/settings.py" in read["TRM_DEVICE"]
    assert "trmweb/launcher.py" in read["TRM_WORKER_CONCURRENCY"]
    assert "trmweb/launcher.py" in read["PORT"]
    assert "DJANGO_SETTINGS_MODULE" in read


def test_every_variable_the_code_reads_is_documented():
    missing = {name: sorted(files) for name, files in variables_read().items() if name not in variables_documented()}
    assert not missing, f"add these to the table in docs/configuration.md (read in): {missing}"


def test_every_documented_variable_is_read_somewhere():
    stale = variables_documented() - set(variables_read())
    assert not stale, f"docs/configuration.md documents variables no code in {', '.join(SCANNED)} reads: {sorted(stale)}"
