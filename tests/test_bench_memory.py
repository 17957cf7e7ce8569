"""bench/memory.py's table check, run as the real script on a small table: two processes that load one ARC
checkpoint share its puzzle table as one memory-mapped copy (a copy at load makes the script exit 1)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "memory.py"


def test_two_processes_share_one_mapped_puzzle_table():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--table-only", "--table-rows", "65536", "--hidden-size", "64",
         "--augmentations", "1"],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "table check: shared" in result.stdout
