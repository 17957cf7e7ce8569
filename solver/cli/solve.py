"""`solve`, `info`, `convert`, `export` and `init`: a checkpoint answering puzzles step by step, described,
converted between the reference's format and ours, written out as a Hugging Face folder or a reference
step_N, or made with random weights (see solver/cli/__init__.py).

The library is imported inside each command, so that building the parser (every command's) stays cheap.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from solver.cli.common import UsageError, add_dtype_option, add_test_time_options, parse_device, read_input
from solver.codecs import CANVAS, MIN_MAZE_FIELD, Codec, Grid, codec_for, maze_field
from solver.config import KINDS, POS_ENCODINGS

if TYPE_CHECKING:
    from solver.inference import StepResult
    from solver.thinking import ThoughtStep


def render_grid(kind: str, grid: Grid) -> str:
    """A grid as text, in the puzzle's own symbols (Sudoku blanks as '.')."""
    if kind == "maze":
        return "\n".join(grid)  # type: ignore[arg-type]
    if kind == "sudoku":
        return "\n".join("".join(str(v) if v else "." for v in row) for row in grid)  # type: ignore[union-attr]
    return "\n".join(" ".join(str(v) for v in row) for row in grid) if grid else "(empty)"  # type: ignore


def step_records(codec: Codec, result: StepResult | ThoughtStep, grids: list[Grid], several: bool,
                 halt: float | None = None) -> list[dict[str, Any]]:
    """The JSON objects of one step, one per puzzle computed at this step."""
    records = []
    active = getattr(result, "active", None)
    for i, grid in enumerate(grids):
        if active is not None and not active[i]:
            continue  # this puzzle halted at an earlier step
        record: dict[str, Any] = {"step": result.step}
        if several:
            record["index"] = i
        record.update(
            tokens=result.tokens[i].tolist(),
            grid=codec.decode(result.tokens[i], like=grid),
            q_halt_logit=round(float(result.q_halt_logit[i]), 6),
            halt_prob=round(float(result.halt_prob[i]), 6),
            confidence=[round(float(c), 4) for c in result.confidence[i]],
            seconds=round(result.seconds, 4),
        )
        if result.frames:
            record["frames"] = [codec.decode(f[i], like=grid) for f in result.frames]
        trajectories = getattr(result, "trajectories", None)
        if halt is not None and trajectories is not None:
            if all(t.halt_prob > halt for t in trajectories[i]):
                record["halted"] = True
        if trajectories is not None and len(trajectories[i]) > 1:
            record["trajectories"] = [
                {"sample": t.sample, "view": t.view, "grid": codec.decode(t.tokens, like=grid),
                 "q_halt_logit": round(t.q_halt_logit, 6), "halt_prob": round(t.halt_prob, 6), "active": t.active}
                for t in trajectories[i]]
            record["chosen"] = int(result.chosen[i])  # type: ignore[union-attr]
            record["agreeing"] = int(result.agreeing[i])  # type: ignore[union-attr]
        records.append(record)
    return records


def cmd_solve(args: argparse.Namespace) -> None:
    import torch

    from solver.checkpoint import load_checkpoint
    from solver.limits import LimitError, check_test_time
    from solver.thinking import think_steps

    if args.threads is not None:
        if args.threads < 1:
            raise UsageError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    model, config = load_checkpoint(args.checkpoint, device=parse_device(args.device), dtype=args.dtype,
                                    kind=args.kind)
    if args.kind is not None and args.kind != config.kind:
        raise UsageError(f"--kind {args.kind} does not match the checkpoint, which is a {config.kind} model")
    try:
        check_test_time(config.kind, config.halt_max_steps, steps=args.steps, samples=args.samples,
                        views=args.views, halt=args.halt, noise=args.noise)
    except LimitError as e:
        raise UsageError(f"--{e.field} {e.reason}") from None
    codec = codec_for(config.kind, config.seq_len)
    grids = codec.parse_text(read_input(args.input))
    several = len(grids) > 1
    out = sys.stdout
    for result in think_steps(model, config.kind, grids, codec.encode_batch(grids), steps=args.steps,
                              samples=args.samples, views=args.views, seed=args.seed, halt=args.halt,
                              noise=args.noise, selection=args.select, frames=args.frames,
                              puzzle_ids=[args.puzzle_id] * len(grids)):
        records = step_records(codec, result, grids, several, halt=args.halt)
        if args.format == "jsonl":
            for record in records:
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
        else:
            for record in records:
                title = f"puzzle {record['index']}, " if several else ""
                agree = (f", {record['agreeing']} of {len(record['trajectories'])} trajectories agree"
                         if "trajectories" in record else "")
                out.write(f"{title}step {record['step']}: halt_prob {record['halt_prob']:.3f} "
                          f"(q_halt_logit {record['q_halt_logit']:+.3f}){agree}, {record['seconds']:.2f} s"
                          + (", halted" if record.get("halted") else "") + "\n")
                out.write(render_grid(config.kind, record["grid"]) + "\n\n")
        out.flush()  # a reader sees each step as soon as it is computed


def cmd_info(args: argparse.Namespace) -> None:
    from solver.checkpoint import checkpoint_info

    info = checkpoint_info(args.path, kind=args.kind)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return
    c = info["config"]
    lines = [
        ("path", info["path"]),
        ("format", info["format"]),
        ("kind", info["kind"]),
        ("variant", info["variant"]),
        ("parameters", f"{info['parameters']:,} (+ {info['puzzle_identifiers']:,} puzzle embeddings)"),
        ("shape", f"hidden {c['hidden_size']}, {c['L_layers']} layers, H_cycles {c['H_cycles']}, "
                  f"L_cycles {c['L_cycles']}, {c['halt_max_steps']} supervision steps, seq_len {c['seq_len']}"
                  + (f" (a {maze_field(c['seq_len'])}x{maze_field(c['seq_len'])} {'maze field' if info['kind'] == 'maze' else 'canvas'})"
                     if info["kind"] != "sudoku" and c["seq_len"] != CANVAS * CANVAS else "") + ", "
                  f"vocab {c['vocab_size']}"),
        ("dtypes", ", ".join(info["dtypes"]) + f" (trained in {c['forward_dtype']})"),
        ("training steps", info["steps"] if info["steps"] is not None else "unknown"),
        ("trained", {True: "yes", False: "no (random weights)", None: "unknown"}[info["trained"]]),
        ("content hash", info["content_hash"]),
        ("provenance", json.dumps(info["provenance"], sort_keys=True, default=str)),
    ]
    for key, value in lines:
        print(f"{key:15} {value}")


def cmd_convert(args: argparse.Namespace) -> None:
    from solver.checkpoint import convert_checkpoint

    print(convert_checkpoint(args.src, args.dst, kind=args.kind))


def cmd_export(args: argparse.Namespace) -> None:
    from solver.checkpoint import export_checkpoint

    print(export_checkpoint(args.checkpoint, args.destination, fmt=args.format, kind=args.kind,
                            compiled_prefix=not args.no_compiled_prefix))


def cmd_init(args: argparse.Namespace) -> None:
    import torch

    from solver.checkpoint import save_checkpoint
    from solver.config import TRMConfig
    from solver.model import TRM, init_weights

    overrides = {name: getattr(args, name) for name in (
        "hidden_size", "num_heads", "expansion", "L_layers", "H_cycles", "L_cycles", "halt_max_steps",
        "pos_encodings", "mlp_t", "puzzle_emb_len", "puzzle_emb_ndim", "num_puzzle_identifiers", "forward_dtype")
        if getattr(args, name) is not None}
    if args.no_puzzle_emb:
        overrides.update(puzzle_emb_ndim=0, puzzle_emb_len=0)
    if args.field is not None:
        if args.kind == "sudoku":
            raise UsageError("--field is for maze and ARC models only")
        if maze_field(args.field * args.field) is None:
            raise UsageError(f"--field {args.field} is out of range; use {MIN_MAZE_FIELD}-{CANVAS}")
        overrides["seq_len"] = args.field * args.field
    overrides.setdefault("puzzle_emb_ndim", overrides.get("hidden_size", 512))
    try:
        config = TRMConfig.for_kind(args.kind, **overrides)
    except ValueError as e:
        raise UsageError(str(e)) from None
    model = init_weights(TRM(config), torch.Generator().manual_seed(args.seed))
    provenance = {"made_by": "python -m solver init", "trained": False, "training_step": 0,
                  "initialisation": "random (untrained weights: answers are meaningless)", "seed": args.seed}
    print(save_checkpoint(model, config, args.output, provenance=provenance))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `solve`, `info`, `convert` and `init` to the solver command line."""
    p = subparsers.add_parser("solve", help="solve puzzles, printing every supervision step")
    p.add_argument("--checkpoint", required=True, help="checkpoint file (step_N or .safetensors) or demo:KIND")
    p.add_argument("--kind", choices=KINDS, help="puzzle kind (required for reference checkpoints whose "
                                                 "data path does not name it)")
    p.add_argument("--input", required=True, help="puzzle file, or - for stdin")
    p.add_argument("--puzzle-id", type=int, default=0, help="puzzle identifier (ARC task/augmentation); 0 = blank")
    add_test_time_options(p)
    add_dtype_option(p)
    p.add_argument("--format", choices=("jsonl", "text"), default="jsonl")
    p.add_argument("--frames", action="store_true", help="also output the answer after each H cycle")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: one per core; fewer is faster "
                                               "when other processes keep cores busy)")
    p.set_defaults(func=cmd_solve)

    p = subparsers.add_parser("info", help="describe a checkpoint")
    p.add_argument("path")
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = subparsers.add_parser("convert", help="reference step_N <-> project .safetensors (direction from SRC)")
    p.add_argument("src")
    p.add_argument("dst", help="project .safetensors file, or reference step_N file / directory")
    p.add_argument("--kind", choices=KINDS)
    p.set_defaults(func=cmd_convert)

    p = subparsers.add_parser("export", help="write a checkpoint as a Hugging Face folder, a reference step_N or a "
                                             "project .safetensors (the content hash is kept)")
    p.add_argument("checkpoint", help="checkpoint (any format, or demo:KIND)")
    p.add_argument("destination", help="the folder to write (hf; reference: a folder, or the step_N file to write)")
    p.add_argument("--format", choices=("hf", "reference", "project"), required=True)
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--no-compiled-prefix", action="store_true",
                   help="reference: keys without the `_orig_mod.` prefix of a torch.compile'd run")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("init", help="write a randomly initialised (untrained) checkpoint")
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden-size", dest="hidden_size", type=int)
    p.add_argument("--num-heads", dest="num_heads", type=int)
    p.add_argument("--expansion", type=float)
    p.add_argument("--L-layers", dest="L_layers", type=int)
    p.add_argument("--H-cycles", dest="H_cycles", type=int)
    p.add_argument("--L-cycles", dest="L_cycles", type=int)
    p.add_argument("--halt-max-steps", dest="halt_max_steps", type=int)
    p.add_argument("--pos-encodings", dest="pos_encodings", choices=POS_ENCODINGS)
    p.add_argument("--mlp-t", dest="mlp_t", action=argparse.BooleanOptionalAction,
                   help="MLP over the sequence instead of attention (default: as published for the kind)")
    p.add_argument("--puzzle-emb-ndim", dest="puzzle_emb_ndim", type=int)
    p.add_argument("--puzzle-emb-len", dest="puzzle_emb_len", type=int)
    p.add_argument("--num-puzzle-identifiers", dest="num_puzzle_identifiers", type=int)
    p.add_argument("--no-puzzle-emb", action="store_true", help="no puzzle embedding (and no prefix positions)")
    p.add_argument("--forward-dtype", dest="forward_dtype", choices=("float32", "bfloat16", "float16"))
    p.add_argument("--field", type=int, help="maze and ARC models: side of the square field or canvas (3-30, default "
                                             "30); the model takes grids up to that size")
    p.set_defaults(func=cmd_init)
