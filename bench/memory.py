"""Memory a solve worker needs: RSS, USS and PSS of processes that hold a checkpoint as the worker does.

    python bench/memory.py       # about 2 minutes: demo and untrained checkpoints, then a 0.94 GB puzzle table
    python bench/memory.py --table-only --table-rows 65536 --hidden-size 64 --augmentations 1  # sharing check, small

Each process imports torch and the solver, loads with `load_checkpoint` and runs one supervision step as the
worker does (`solve_steps`; a known ARC task through `solve_task_steps` with its learned rows), keeping the
step's generator alive as a running job does. Figures are read from outside (psutil `memory_full_info`) while
a baseline process, torch and solver imported and nothing loaded, is alive beside them and measured at the same
moment; the "− base" columns subtract it. RSS counts every resident page a process maps, USS the pages only it
maps (what its exit would free), PSS each page divided by the number of processes mapping it (PSS sums to what
the machine spends). Peak RSS is the kernel's high-water mark (VmHWM), which catches a step's activations.

Part 1: `demo:sudoku`, `demo:arc`, and the untrained maze checkpoint `ensure_checkpoints` makes for `make run`.

Part 2: the reference ARC-AGI-1 checkpoint has a puzzle-embedding table of 876,406 identifiers x 512 floats
(1.8 GB). A synthetic project-format ARC checkpoint with a table of --table-rows rows (default 460,000: a file
under 1 GB) and builder-shaped identifier names is written under /tmp with `save_checkpoint`, held by TWO
processes at once, and deleted at the end. Read from /proc/self/pagemap inside each process: how much of the
table is resident there, and how much of that is anonymous memory (a copy) rather than the file's page cache.
The table check passes when the table stays mapped from the file, a known-task solve brings only a few of its
pages in, and after a full scan of the table (what an evaluation over every puzzle would do) each process's
USS grows by a small fraction of the table while RSS grows by all of it and PSS by half. Exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MIB = 2 ** 20
# The untrained checkpoint `manage.py ensure_checkpoints` makes when no demo is shipped (the maze, today).
LAUNCHER_INIT_ARGS = ["--hidden-size", "128", "--num-heads", "4", "--seed", "0"]
SUDOKU = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
DEMO_ARC_TASK = "25ff71a9"  # one of demo:arc's training tasks (ARC-AGI-1 training)
REFERENCE_ARC1_ROWS = 876_406  # identifiers of the reference ARC-AGI-1 build (1000 augmentations)
PUZZLE_EMB_NDIM = 512
WORKER_MODULES = ("solver.checkpoint", "solver.inference", "solver.test_time")
ROWS_PER_TASK = 1000  # the task itself and its augmentations, consecutive rows as the builder numbers them
# Fractions of the table the check allows: pages a few-row lookup brings in, and a full scan's growth of USS.
LOOKUP_LIMIT, PRIVATE_LIMIT = 0.10, 0.10


# ------------------------------------------------------------------------------- inside a holder process


def table_residency(table) -> dict:
    """Where the puzzle table lives in this process, and how much of it is resident, from /proc/self/pagemap
    (one 64-bit entry per virtual page: bit 63 present, bit 61 file page or shared anonymous)."""
    import numpy as np

    page = os.sysconf("SC_PAGE_SIZE")
    start = table.data_ptr()
    end = start + table.numel() * table.element_size()
    mapped_from = ""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low <= start < high:
                mapped_from = fields[5].strip() if len(fields) == 6 else ""
                break
    with open("/proc/self/pagemap", "rb") as pagemap:
        pagemap.seek(start // page * 8)
        entries = np.frombuffer(pagemap.read((-(-end // page) - start // page) * 8), dtype=np.uint64)
    present = (entries >> np.uint64(63)) & np.uint64(1) == 1
    file_backed = (entries >> np.uint64(61)) & np.uint64(1) == 1
    return {"bytes": end - start, "mapped_from": mapped_from, "resident": int(present.sum()) * page,
            "anonymous": int((present & ~file_backed).sum()) * page}


class Holder:
    """The worker's side: a model, the identifier names, and the generator of a running solve."""

    def __init__(self, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.model = self.path = self.identifiers = self.running = None

    def load(self, path: str) -> dict:
        from solver.checkpoint import load_checkpoint

        self.path = path
        self.model, _ = load_checkpoint(path)
        return {}

    def read_identifiers(self) -> dict:
        """The names the worker gets from the checkpoint's registered info (`job.checkpoint.info`)."""
        from solver.checkpoint import checkpoint_info

        self.identifiers = checkpoint_info(self.path)["provenance"].get("puzzle_identifiers") or []
        return {"count": len(self.identifiers)}

    def solve(self, kind: str, text: str) -> dict:
        from solver.codecs import codec_for
        from solver.inference import solve_steps

        codec = codec_for(kind)
        inputs = codec.encode_batch(codec.parse_text(text))
        self.running = solve_steps(self.model, inputs, steps=1)
        next(self.running)
        return {"puzzles": len(inputs)}

    def solve_known_task(self, task: dict, augmentations: int) -> dict:
        from solver.test_time import known_task_embeddings, solve_task_steps

        if self.identifiers is None:
            self.read_identifiers()
        embeddings = known_task_embeddings(self.identifiers, task["task"], limit=augmentations)
        if embeddings is None:
            raise ValueError(f"task {task['task']} is not among the checkpoint's identifiers")
        self.running = solve_task_steps(self.model, task, embeddings, steps=1)
        next(self.running)
        return {"rows": embeddings.rows}

    def scan_table(self) -> dict:
        """Read every row of the puzzle table once."""
        return {"sum": float(self.model.puzzle_emb.weights.sum())}

    def write_table_checkpoint(self, path: str, rows: int, hidden_size: int, seed: int) -> dict:
        """A synthetic ARC checkpoint with a `rows`-row table and builder-shaped identifier names."""
        import torch

        from solver.checkpoint import save_checkpoint
        from solver.config import TRMConfig
        from solver.model import TRM, init_weights

        config = TRMConfig.for_kind("arc", hidden_size=hidden_size, num_puzzle_identifiers=rows,
                                    puzzle_emb_ndim=PUZZLE_EMB_NDIM)
        generator = torch.Generator().manual_seed(seed)
        model = init_weights(TRM(config), generator)
        model.puzzle_emb.weights.normal_(0.0, 0.02, generator=generator)  # trained rows are not zeros
        provenance = {"made_by": "bench/memory.py", "trained": False,
                      "puzzle_identifiers": synthetic_identifiers(rows, seed)}
        save_checkpoint(model, config, path, provenance=provenance)
        names = provenance["puzzle_identifiers"]
        return {"table_bytes": model.puzzle_emb.weights.nbytes, "file_bytes": os.path.getsize(path),
                "middle_task": names[len(names) // 2].split("|||")[0],
                "network_bytes": sum(t.nbytes for n, t in model.state_dict().items() if not n.startswith("puzzle_emb"))}

    def handle(self, command: dict) -> dict:
        op = command.pop("op")
        reply = getattr(self, op)(**command)
        if self.model is not None and hasattr(self.model, "puzzle_emb"):
            reply["table"] = table_residency(self.model.puzzle_emb.weights)
        return reply


def hold(threads: int) -> None:
    """Answer one JSON command per line of stdin with one JSON line on stdout."""
    holder = Holder(threads)
    for module in WORKER_MODULES:  # every holder, the baseline included, starts with the same imports
        importlib.import_module(module)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            reply = holder.handle(json.loads(line))
        except Exception:
            reply = {"error": traceback.format_exc()}
        print(json.dumps(reply), flush=True)


def synthetic_identifiers(rows: int, seed: int) -> list[str]:
    """'<blank>', then per task its name and augmentations '<task>|||t<k>|||<colours>', as the builder names them."""
    rng = random.Random(seed)
    names = ["<blank>"]
    task = 0
    while len(names) < rows:
        name = f"{task:08x}"
        names.append(name)
        for _ in range(min(ROWS_PER_TASK - 1, rows - len(names))):
            colours = rng.sample("123456789", 9)
            names.append(f"{name}|||t{rng.randrange(8)}|||0{''.join(colours)}")
        task += 1
    return names


# ------------------------------------------------------------------------------------------- the parent


@dataclass
class Figures:
    rss: int
    uss: int
    pss: int
    peak: int


class Process:
    """A holder process and the parent's view of it."""

    def __init__(self, label: str, threads: int):
        self.label = label
        command = [sys.executable, str(Path(__file__).resolve()), "--hold", "--threads", str(threads)]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def send(self, op: str, **arguments) -> None:
        self.proc.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.proc.stdin.flush()

    def reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.label}: the holder process ended (exit status {self.proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise SystemExit(f"{self.label}: {reply['error']}")
        return reply

    def ask(self, op: str, **arguments) -> dict:
        self.send(op, **arguments)
        return self.reply()

    def figures(self) -> Figures:
        info = psutil.Process(self.proc.pid).memory_full_info()
        with open(f"/proc/{self.proc.pid}/status") as status:
            peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
        return Figures(info.rss, info.uss, info.pss, peak)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def on_all(processes: list[Process], op: str, **arguments) -> list[dict]:
    """Send one command to every process, then wait for all: they work at the same time."""
    for p in processes:
        p.send(op, **arguments)
    return [p.reply() for p in processes]


def mib(n: float) -> str:
    return f"{n / MIB:,.1f}"


class Table:
    """Rows of figures against the baseline measured at the same moment, printed as markdown."""

    def __init__(self, baseline: Process, extra: tuple[str, ...] = ()):
        self.baseline = baseline
        self.lines = ["| process | after | RSS | USS | PSS | peak RSS | RSS − base | USS − base | PSS − base |"
                      + "".join(f" {e} |" for e in extra),
                      "|---|---|" + "---:|" * (7 + len(extra))]

    def add(self, label: str, after: str, figures: Figures, base: Figures | None,
            extra: tuple[str, ...] = ()) -> None:
        deltas = ([mib(figures.rss - base.rss), mib(figures.uss - base.uss), mib(figures.pss - base.pss)]
                  if base else ["", "", ""])
        cells = [label, after, mib(figures.rss), mib(figures.uss), mib(figures.pss), mib(figures.peak), *deltas, *extra]
        self.lines.append("| " + " | ".join(cells) + " |")

    def measure(self, processes: list[Process], after: str,
                extra: list[tuple[str, ...]] | None = None) -> list[Figures]:
        """Figures of the baseline and of `processes`, taken back to back, one row each."""
        base = self.baseline.figures()
        figures = [p.figures() for p in processes]
        for i, (p, f) in enumerate(zip(processes, figures)):
            self.add(p.label, after, f, base, extra[i] if extra else ())
        return figures

    def print(self) -> None:
        print("\n".join(self.lines), flush=True)


def load_demo_arc_task() -> dict:
    from solver.datasets.arc import load_subset

    task = load_subset("training")[DEMO_ARC_TASK]
    return {"task": DEMO_ARC_TASK, "train": task["train"], "test": [{"input": t["input"]} for t in task["test"]]}


def typical_maze() -> str:
    from solver.datasets.maze import generate

    rows, _answer, _length = generate(random.Random(0))
    return "\n".join(rows)


def checkpoints_part(baseline: Process, folder: Path, arc_task: dict, threads: int, augmentations: int) -> None:
    maze = folder / "untrained-maze.safetensors"
    subprocess.run([sys.executable, "-m", "solver", "init", "--kind", "maze", "--output", str(maze),
                    *LAUNCHER_INIT_ARGS], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    checkpoints = {"demo:sudoku": ("sudoku", str(ROOT / "solver/demo/sudoku.safetensors")),
               "demo:arc": ("arc", str(ROOT / "solver/demo/arc.safetensors")),
               "untrained maze (make run)": ("maze", str(maze))}
    processes = [Process(label, threads) for label in checkpoints]
    for p in processes:
        p.reply()
    table = Table(baseline)
    table.add(baseline.label, "import", baseline.figures(), None)
    table.measure(processes, "import")
    for p, (_kind, path) in zip(processes, checkpoints.values()):
        p.ask("load", path=path)
    table.measure(processes, "load")
    for p, (kind, _path) in zip(processes, checkpoints.values()):
        if kind == "arc":
            rows = p.ask("solve_known_task", task=arc_task, augmentations=augmentations)["rows"]
            after = f"1 step, task {DEMO_ARC_TASK}, rows: {len(rows)}"
        else:
            p.ask("solve", kind=kind, text=SUDOKU if kind == "sudoku" else typical_maze())
            after = f"1 step, 1 {kind}"
        table.measure([p], after)
        p.close()
    print(f"\n## Checkpoints (MiB; {threads} torch thread(s); file sizes: "
          + ", ".join(f"{label} {os.path.getsize(path) / MIB:.2f}" for label, (_, path) in checkpoints.items()) + ")\n")
    table.print()


def table_part(baseline: Process, folder: Path, arc_task: dict, *, rows: int, hidden_size: int, threads: int,
               augmentations: int) -> list[str]:
    """Two processes share one big puzzle table; returns what went wrong (nothing when it is shared)."""
    path = folder / "big-arc-table.safetensors"
    writer, first, second = (Process(label, threads) for label in ("writer", "process A", "process B"))
    pair = [first, second]
    for p in (writer, *pair):
        p.reply()
    written = writer.ask("write_table_checkpoint", path=str(path), rows=rows, hidden_size=hidden_size, seed=0)
    writer.close()
    table_bytes = written["table_bytes"]
    task = {**arc_task, "task": written["middle_task"]}  # a task whose rows lie in the middle of the table

    table = Table(baseline, extra=("table resident", "table anonymous"))
    phases = {}

    def measure(after: str, replies: list[dict]) -> None:
        residency = [r["table"] for r in replies]
        figures = table.measure(pair, after, [(mib(t["resident"]), mib(t["anonymous"])) for t in residency])
        phases[after] = list(zip(figures, residency))

    measure("load", on_all(pair, "load", path=str(path)))
    measure(f"identifiers ({rows:,} names)", on_all(pair, "read_identifiers"))
    solved = f"1 step, known task, rows: {augmentations}"
    measure(solved, on_all(pair, "solve_known_task", task=task, augmentations=augmentations))
    measure("full table scan", on_all(pair, "scan_table"))
    for p in pair:
        p.close()
    problems = table_problems(table_bytes, str(path), phases[solved], phases["full table scan"], len(pair))

    print(f"\n## Puzzle table shared by two processes (MiB; {threads} torch thread(s))\n")
    print(f"{rows:,} x {PUZZLE_EMB_NDIM} float32 table: {mib(table_bytes)} MiB "
          f"({rows / REFERENCE_ARC1_ROWS:.0%} of the reference ARC-AGI-1 table's {REFERENCE_ARC1_ROWS:,} rows); "
          f"network (hidden {hidden_size}) {mib(written['network_bytes'])} MiB; "
          f"file {written['file_bytes'] / 1e9:.2f} GB\n")
    table.print()
    print()
    for (before, _), (after, residency), p in zip(phases[solved], phases["full table scan"], pair):
        print(f"{p.label}: the scan added RSS {(after.rss - before.rss) / table_bytes:.0%}, "
              f"USS {(after.uss - before.uss) / table_bytes:.1%}, PSS {(after.pss - before.pss) / table_bytes:.0%} "
              f"of the table; the table is mapped from {residency['mapped_from'] or 'anonymous memory'}")
    return problems


def table_problems(table_bytes: int, path: str, solved: list[tuple[Figures, dict]],
                   scanned: list[tuple[Figures, dict]], holders: int) -> list[str]:
    """What contradicts "the table is one memory-mapped copy that the processes share", if anything."""
    problems = []
    for i, ((before, at_solve), (after, at_scan)) in enumerate(zip(solved, scanned)):
        who = f"process {'AB'[i]}"
        if at_scan["mapped_from"] != path:
            problems.append(f"{who}: the table is not mapped from the checkpoint file but from "
                            f"{at_scan['mapped_from'] or 'anonymous memory'}: it was copied")
        if at_solve["resident"] > LOOKUP_LIMIT * table_bytes:
            problems.append(f"{who}: a known-task solve made {mib(at_solve['resident'])} MiB of the table resident, "
                            f"over {LOOKUP_LIMIT:.0%} of it")
        if at_scan["resident"] < 0.9 * table_bytes or at_scan["anonymous"] > PRIVATE_LIMIT * table_bytes:
            problems.append(f"{who}: after a full scan {mib(at_scan['resident'])} MiB of the table are resident, "
                            f"{mib(at_scan['anonymous'])} MiB of them anonymous (copied)")
        if after.uss - before.uss > PRIVATE_LIMIT * table_bytes:
            problems.append(f"{who}: the scan grew USS by {mib(after.uss - before.uss)} MiB, over "
                            f"{PRIVATE_LIMIT:.0%} of the table: its pages are private to the process")
        share = (after.pss - before.pss) / table_bytes
        if abs(share - 1 / holders) > 0.15:
            problems.append(f"{who}: the scan grew PSS by {share:.0%} of the table, not about 1/{holders}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table-rows", type=int, default=460_000,
                        help="rows of the synthetic ARC puzzle table (2 KiB each; default 460,000: 0.94 GB)")
    parser.add_argument("--hidden-size", type=int, default=512, help="network width of the synthetic checkpoint")
    parser.add_argument("--augmentations", type=int, default=8,
                        help="rows a known-task solve looks up (the worker's CPU budget: 8)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in each process")
    parser.add_argument("--table-only", action="store_true", help="only the shared-table part")
    parser.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.hold:
        hold(args.threads)
        return
    arc_task = load_demo_arc_task()
    baseline = Process("baseline (imports only)", args.threads)
    try:
        baseline.reply()
        with tempfile.TemporaryDirectory(prefix="trm-memory-", dir="/tmp") as folder:
            if not args.table_only:
                checkpoints_part(baseline, Path(folder), arc_task, args.threads, args.augmentations)
            problems = table_part(baseline, Path(folder), arc_task, rows=args.table_rows, hidden_size=args.hidden_size,
                                  threads=args.threads, augmentations=args.augmentations)
    finally:
        baseline.close()
    if problems:
        print("\ntable check: NOT shared\n" + "\n".join(f"- {p}" for p in problems))
        sys.exit(1)
    print("\ntable check: shared (mapped from the file in both processes, a solve touches a few pages of it, "
          "a full scan adds the table to RSS but not to USS, PSS splits it)")


if __name__ == "__main__":
    main()
