"""Reading and writing TRM checkpoints: the reference training's files and the project's own format.

Reference format (what the reference `pretrain.py` writes): a bare state_dict saved with torch.save as
`.../step_<N>`, `all_config.yaml` beside it. Keys carry `_orig_mod.model.inner.` (torch.compile) or
`model.inner.` in front of the leaf names this package's `TRM` uses. The yaml has the architecture but not
the sequence length, vocabulary or number of puzzle identifiers; those come from the tensor shapes and the
puzzle kind. It is only ever read with `torch.load(weights_only=True)`: no pickled code runs; and only
once its zip directory has been checked (`check_reference_archive`), so that no zip bomb reaches torch.

Project format: one `.safetensors` file (no pickle). Its metadata holds, as JSON strings, the `TRMConfig`
("config"), how the weights were made ("provenance") and a hash of the tensors ("content_hash"). Tensors
keep their stored dtype; the big ARC puzzle-embedding table is memory-mapped, never copied, on a CPU.

`load_checkpoint` is the one call the web side needs; `checkpoint_info` describes a file cheaply.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch

from solver.config import KIND_SHAPES, KINDS, TRMConfig
from solver.devices import compute_dtype
from solver.hf_format import is_hf_folder, read_hf, write_hf
from solver.model import TRM

FORMAT_NAME = "trm-playground/1"
DEMO_DIR = Path(__file__).resolve().parent / "demo"
REFERENCE_ARCH = "recursive_reasoning.trm@"  # the reference `arch.name` this model implements
PUZZLE_TABLE = "puzzle_emb.weights"
# Buffers that are part of the state but not trained parameters.
BUFFERS = ("H_init", "L_init", PUZZLE_TABLE)
SAFETENSORS_DTYPES = {"F32": "float32", "BF16": "bfloat16", "F16": "float16", "F64": "float64"}
# A reference state_dict has a few dozen entries (one per tensor, plus torch's bookkeeping).
MAX_ARCHIVE_ENTRIES = 10_000


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file, and the tensor and shapes when relevant."""


def resolve_checkpoint_path(spec: str | os.PathLike) -> Path:
    """A path, or 'demo:<kind>' for the demo checkpoint the repository ships for that kind."""
    text = str(spec)
    if text.startswith("demo:"):
        kind = text[len("demo:"):]
        if kind not in KINDS:
            raise CheckpointError(f"unknown demo checkpoint {text!r}; use demo:{', demo:'.join(KINDS)}")
        path = DEMO_DIR / f"{kind}.safetensors"
        if not path.exists():
            raise CheckpointError(f"the demo checkpoint for {kind} is not installed ({path} does not exist); "
                                  "pass --checkpoint PATH to a checkpoint file instead")
        return path
    path = Path(text)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.is_dir() and not is_hf_folder(path):
        raise CheckpointError(f"checkpoint {path} is a directory (and no Hugging Face layout: config.json and "
                              "model.safetensors); name the step_N or .safetensors file in it")
    return path


def is_project_file(path: Path) -> bool:
    """Project files are safetensors: an 8-byte little-endian header length, then a JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


# ---------------------------------------------------------------------------------------------- hashing


def content_hash(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes in name order: the same weights hash the same in either
    format, so a converted checkpoint keeps its identity."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{str(t.dtype).removeprefix('torch.')}|{list(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().data if t.numel() else b"")
    return "sha256:" + h.hexdigest()


# ------------------------------------------------------------------------------------ shape checking


def _meta_model(config: TRMConfig) -> TRM:
    """The module tree of `config` without allocating its tensors."""
    with torch.device("meta"):
        return TRM(config)


def expected_shapes(config: TRMConfig) -> dict[str, torch.Size]:
    """Name -> shape of every tensor a checkpoint of `config` holds."""
    return {name: t.shape for name, t in _meta_model(config).state_dict().items()}


def check_tensors(tensors: dict[str, torch.Tensor], config: TRMConfig, where: str) -> None:
    """Every tensor the config needs, with its exact shape, and nothing else."""
    expected = expected_shapes(config)
    for name, shape in expected.items():
        if name not in tensors:
            raise CheckpointError(f"{where}: tensor {name!r} is missing (expected shape {list(shape)}) "
                                  f"for the {config.variant} variant")
        if tensors[name].shape != shape:
            raise CheckpointError(f"{where}: tensor {name!r} has shape {list(tensors[name].shape)}, "
                                  f"expected {list(shape)}")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise CheckpointError(f"{where}: unexpected tensor {extra[0]!r} (shape {list(tensors[extra[0]].shape)}) "
                              f"for the {config.variant} variant")


def build_model(tensors: dict[str, torch.Tensor], config: TRMConfig, *, device: torch.device,
                dtype: torch.dtype, where: str = "checkpoint") -> TRM:
    """A TRM holding `tensors`, cast to `dtype` on `device`. The puzzle table keeps its stored dtype and,
    on a CPU, its storage (so a memory-mapped table stays mapped; rows are cast when looked up)."""
    check_tensors(tensors, config, where)
    state = {name: t.to(device) if name == PUZZLE_TABLE else t.to(device=device, dtype=dtype)
             for name, t in tensors.items()}
    model = _meta_model(config)
    model.load_state_dict(state, assign=True)
    return model.eval().requires_grad_(False)


# --------------------------------------------------------------------------------- reference format


def _leaf_name(key: str) -> str:
    """'_orig_mod.model.inner.lm_head.weight' -> 'lm_head.weight' (prefixes are optional)."""
    return re.sub(r"^(_orig_mod\.)?(model\.)?(inner\.)?", "", key)


def _kind_from_paths(paths: list[str]) -> str | None:
    found = set()
    for p in paths:
        name = str(p).lower()
        for kind in KINDS:
            if kind in name:
                found.add(kind)
    return found.pop() if len(found) == 1 else None


def read_reference_config(yaml_path: Path, tensors: dict[str, torch.Tensor], kind: str | None) -> TRMConfig:
    """TRMConfig from a reference `all_config.yaml` plus the shapes only the tensors know."""
    import yaml  # only reference checkpoints need it

    try:
        raw = yaml.safe_load(yaml_path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise CheckpointError(f"cannot read {yaml_path}: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("arch"), dict):
        raise CheckpointError(f"{yaml_path} has no 'arch' section; is it the all_config.yaml of a TRM run?")
    arch = raw["arch"]
    name = str(arch.get("name", ""))
    if not name.startswith(REFERENCE_ARCH):
        raise CheckpointError(f"{yaml_path}: architecture {name!r} is not supported; only {REFERENCE_ARCH}... "
                              "(TRM) checkpoints can be loaded")
    if kind is None:
        kind = _kind_from_paths(list(raw.get("data_paths") or []) + list(raw.get("data_paths_test") or []))
        if kind is None:
            raise CheckpointError(f"{yaml_path}: cannot tell the puzzle kind from data_paths "
                                  f"{raw.get('data_paths')!r}; pass the kind explicitly (--kind)")
    if kind not in KINDS:
        raise CheckpointError(f"unknown puzzle kind {kind!r}; use one of {', '.join(KINDS)}")

    def shape_of(leaf: str) -> list[int] | None:
        return list(tensors[leaf].shape) if leaf in tensors else None

    emb = shape_of("embed_tokens.embedding_weight")
    if emb is None:
        raise CheckpointError("tensor 'embed_tokens.embedding_weight' is missing; is this a TRM checkpoint?")
    table = shape_of(PUZZLE_TABLE)
    hidden = int(arch.get("hidden_size", emb[1]))
    puzzle_ndim = table[1] if table else 0
    puzzle_len = int(arch.get("puzzle_emb_len", 16)) if puzzle_ndim else 0
    config = TRMConfig(
        kind=kind,
        seq_len=KIND_SHAPES[kind]["seq_len"],
        vocab_size=emb[0],
        num_puzzle_identifiers=table[0] if table else 1,
        hidden_size=hidden,
        num_heads=int(arch.get("num_heads", 8)),
        expansion=float(arch.get("expansion", 4)),
        L_layers=int(arch.get("L_layers", 2)),
        H_cycles=int(arch.get("H_cycles", 3)),
        L_cycles=int(arch.get("L_cycles", 6)),
        halt_max_steps=int(arch.get("halt_max_steps", 16)),
        pos_encodings=str(arch.get("pos_encodings", "rope")),
        mlp_t=bool(arch.get("mlp_t", False)),
        puzzle_emb_ndim=puzzle_ndim,
        puzzle_emb_len=puzzle_len,
        rope_theta=float(arch.get("rope_theta", 10000.0)),
        rms_norm_eps=float(arch.get("rms_norm_eps", 1e-5)),
        forward_dtype=str(arch.get("forward_dtype", "bfloat16")),
        loss_type=str((arch.get("loss") or {}).get("loss_type", "stablemax_cross_entropy")),
    )
    # The sequence length is fixed by the kind, but a learned position table or an mlp_t layer also
    # records it: when they disagree the checkpoint belongs to another kind.
    for leaf, axis in (("embed_pos.embedding_weight", 0), ("L_level.layers.0.mlp_t.gate_up_proj.weight", 1)):
        shape = shape_of(leaf)
        if shape is not None and shape[axis] != config.total_len:
            raise CheckpointError(f"tensor {leaf!r} has shape {shape}, which means {shape[axis]} positions; a "
                                  f"{kind} model has {config.total_len} ({config.prefix_len} puzzle + "
                                  f"{config.seq_len} answer); is the kind right?")
    if emb[0] != KIND_SHAPES[kind]["vocab_size"]:
        raise CheckpointError(f"tensor 'embed_tokens.embedding_weight' has shape {emb}, expected "
                              f"[{KIND_SHAPES[kind]['vocab_size']}, {hidden}] for {kind}; is the kind right?")
    return config


def _archive_entry_count(path: Path) -> int:
    """The number of entries a zip archive's end record declares, read without parsing its directory (whose
    size a hostile file chooses). Zip64 archives keep the real count in a record the locator points to."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - (22 + 65535)))  # the end record and a comment of at most 64 KiB
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0:
            raise CheckpointError(f"cannot read reference checkpoint {path}: it is not a zip archive as "
                                  "torch.save writes (no end of central directory)")
        (count,) = struct.unpack_from("<H", tail, at + 10)
        locator = at - 20
        if count == 0xFFFF and locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07":
            (record_at,) = struct.unpack_from("<Q", tail, locator + 8)
            f.seek(record_at)
            record = f.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                (count,) = struct.unpack_from("<Q", record, 32)
    return count


def check_reference_archive(path: Path) -> list[zipfile.ZipInfo]:
    """The entries of a `step_N` archive, refused unless it looks as torch.save writes one: at most
    MAX_ARCHIVE_ENTRIES entries, all stored uncompressed, their sizes within the file.

    torch reads an entry into a buffer of the size the zip directory declares and inflates a compressed
    one into it, so a small file with deflated entries (a zip bomb) or lying sizes would make it allocate
    gigabytes. The directory is checked before torch reads a byte.
    """
    where = f"cannot read reference checkpoint {path}"
    count = _archive_entry_count(path)
    if count > MAX_ARCHIVE_ENTRIES:
        raise CheckpointError(f"{where}: the archive declares {count:,} entries; a checkpoint has at most "
                              f"{MAX_ARCHIVE_ENTRIES:,}")
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, struct.error) as e:
        raise CheckpointError(f"{where}: not a zip archive as torch.save writes ({e})") from None
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise CheckpointError(f"{where}: the archive holds {len(entries):,} entries; a checkpoint has at most "
                              f"{MAX_ARCHIVE_ENTRIES:,}")
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"{where}: entry {entry.filename!r} is compressed (zip method "
                                  f"{entry.compress_type}) to {entry.compress_size:,} bytes from {entry.file_size:,}; "
                                  "torch.save stores entries uncompressed, so this file was not written by it")
        if entry.file_size != entry.compress_size or entry.header_offset + entry.compress_size > size:
            raise CheckpointError(f"{where}: entry {entry.filename!r} declares {entry.file_size:,} bytes, more "
                                  f"than the archive's {size:,} bytes hold; the file is damaged or forged")
    declared = sum(entry.file_size for entry in entries)
    if declared > size:
        raise CheckpointError(f"{where}: its entries declare {declared:,} bytes in all, more than the archive's "
                              f"{size:,} bytes; the file is damaged or forged")
    return entries


def check_storages_within_records(path: Path, entries: list[zipfile.ZipInfo], tensors: dict[str, torch.Tensor]) -> None:
    """Every tensor storage of a memory-mapped load lies inside the `data/` record it was read from.

    With mmap, torch slices each storage out of the file at its record's offset, as many bytes as the
    pickle claims, without comparing that with the record's size: a storage that claims more would read
    the bytes of the records that follow. Storages are views of one mapping of the file, so their
    addresses differ by the differences of their records' offsets.
    """
    records = {}  # file offset of a record's bytes -> their size
    with open(path, "rb") as f:
        for entry in entries:
            if "/data/" in entry.filename:  # torch names a storage's record <archive>/data/<key>
                f.seek(entry.header_offset + 26)
                name_length, extra_length = struct.unpack("<HH", f.read(4))
                records[entry.header_offset + 30 + name_length + extra_length] = entry.file_size
    storages: dict[int, int] = {}
    for tensor in tensors.values():
        storage = tensor.untyped_storage()
        if storage.nbytes():
            storages[storage.data_ptr()] = max(storages.get(storage.data_ptr(), 0), storage.nbytes())
    if not storages:
        return
    if not records:
        raise CheckpointError(f"cannot read reference checkpoint {path}: it has tensors but no data records")
    mapped_at = min(storages) - min(records)
    for address, claimed in storages.items():
        stored = records.get(address - mapped_at)
        if stored is None or claimed > stored:
            raise CheckpointError(f"cannot read reference checkpoint {path}: a tensor claims {claimed:,} bytes "
                                  f"where the file stores {stored or 0:,}; the file is damaged or forged")


def read_reference(path: Path, kind: str | None = None) -> tuple[dict[str, torch.Tensor], TRMConfig, dict]:
    """Tensors (leaf names, stored dtypes, memory-mapped), config and provenance of a reference `step_N`."""
    yaml_path = path.parent / "all_config.yaml"
    if not yaml_path.exists():
        raise CheckpointError(f"{path} is not a project .safetensors file, and there is no all_config.yaml "
                              "beside it as a reference checkpoint needs")
    entries = check_reference_archive(path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"cannot read reference checkpoint {path}: {reason}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise CheckpointError(f"{path} does not hold a state_dict of tensors")
    check_storages_within_records(path, entries, raw)
    tensors: dict[str, torch.Tensor] = {}
    for key, t in raw.items():
        leaf = _leaf_name(key)
        if leaf in tensors:
            raise CheckpointError(f"{path}: tensor {leaf!r} appears twice (as {key!r} and another key)")
        tensors[leaf] = t
    config = read_reference_config(yaml_path, tensors, kind)
    match = re.fullmatch(r"step_(\d+)", path.name)
    provenance = {
        "made_by": "reference TRM training (SamsungSAILMontreal/TinyRecursiveModels pretrain.py)",
        "trained": True,
        "source": str(path),
        "training_step": int(match.group(1)) if match else None,
    }
    return tensors, config, provenance


def write_reference(tensors: dict[str, torch.Tensor], config: TRMConfig, provenance: dict, path: Path, *,
                    compiled_prefix: bool = True) -> Path:
    """Write `step_N` + `all_config.yaml` as the reference training would: keys with the compiled model's
    `_orig_mod.` prefix (as its torch.compile'd runs save them), or without it (`compiled_prefix=False`, as
    an uncompiled run saves them; the reference loads either).

    `path` is the step file when named step_<N>, else the directory to write it into.
    """
    import yaml

    if not re.fullmatch(r"step_\d+", path.name):
        path = path / f"step_{provenance.get('training_step') or 0}"
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = "_orig_mod.model.inner." if compiled_prefix else "model.inner."
    torch.save({f"{prefix}{k}": v.contiguous() for k, v in tensors.items()}, path)
    arch = {
        "name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1",
        "loss": {"name": "losses@ACTLossHead", "loss_type": config.loss_type},
        "halt_exploration_prob": 0.1,
        "H_layers": 0,
        "no_ACT_continue": True,
        **{k: v for k, v in config.to_dict().items()
           if k not in ("kind", "seq_len", "vocab_size", "num_puzzle_identifiers", "loss_type")},
    }
    data_paths = provenance.get("data_paths") or [f"data/{config.kind}"]
    (path.parent / "all_config.yaml").write_text(yaml.safe_dump({"arch": arch, "data_paths": data_paths}))
    return path


# ----------------------------------------------------------------------------------- project format


def _metadata(path: Path) -> tuple[dict[str, str], dict[str, tuple[list[int], str]]]:
    """Metadata and {name: (shape, dtype)} of a safetensors file, read from its header only."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            shapes = {k: (f.get_slice(k).get_shape(), f.get_slice(k).get_dtype()) for k in f.keys()}
    except Exception as e:
        raise CheckpointError(f"cannot read {path}: not a valid safetensors file ({e})") from None
    return meta, shapes


def _project_config(path: Path, meta: dict[str, str]) -> TRMConfig:
    if meta.get("format") != FORMAT_NAME or "config" not in meta:
        raise CheckpointError(f"{path} is a safetensors file but not a TRM Playground checkpoint "
                              f"(metadata format {meta.get('format')!r}, expected {FORMAT_NAME!r})")
    try:
        return TRMConfig.from_dict(json.loads(meta["config"]))
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: the stored config is invalid: {e}") from None


def read_project(path: Path) -> tuple[dict[str, torch.Tensor], TRMConfig, dict]:
    """Tensors (memory-mapped, stored dtypes), config and provenance of a project `.safetensors` file."""
    from safetensors import safe_open

    meta, _ = _metadata(path)
    config = _project_config(path, meta)
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:
        raise CheckpointError(f"cannot read the tensors of {path}: {e}") from None
    provenance = json.loads(meta.get("provenance", "{}"))
    provenance["content_hash"] = meta.get("content_hash")
    return tensors, config, provenance


def write_project(tensors: dict[str, torch.Tensor], config: TRMConfig, provenance: dict, path: Path) -> Path:
    from safetensors.torch import save_file

    check_tensors(tensors, config, str(path))
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    provenance = {k: v for k, v in provenance.items() if k != "content_hash"}
    provenance.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    provenance.setdefault("torch", torch.__version__)
    meta = {
        "format": FORMAT_NAME,
        "config": json.dumps(config.to_dict(), sort_keys=True),
        "provenance": json.dumps(provenance, sort_keys=True, default=str),
        "content_hash": content_hash(tensors),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)  # never leave a half-written checkpoint under the real name
    return path


# ------------------------------------------------------------------------------------ public API


def read_checkpoint(path: str | os.PathLike, *, kind: str | None = None
                    ) -> tuple[dict[str, torch.Tensor], TRMConfig, dict]:
    """Raw tensors (leaf names, stored dtypes), config and provenance of either format."""
    path = resolve_checkpoint_path(path)
    if path.is_dir():
        tensors, config, provenance = read_hf(path)
        if kind is not None and kind != config.kind:
            raise CheckpointError(f"{path} is a {config.kind} checkpoint, not {kind}")
        return tensors, config, provenance
    if is_project_file(path):
        tensors, config, provenance = read_project(path)
        if kind is not None and kind != config.kind:
            raise CheckpointError(f"{path} is a {config.kind} checkpoint, not {kind}")
        return tensors, config, provenance
    return read_reference(path, kind)


def load_checkpoint(path: str | os.PathLike, *, device: str | torch.device | None = None,
                    dtype: torch.dtype | str | None = None, kind: str | None = None) -> tuple[TRM, TRMConfig]:
    """The model and config of a checkpoint in either format, ready for `solve_steps`.

    device defaults to the CPU; dtype to float32 on a CPU (it reproduces the reference's answers) and to
    the dtype the model was trained in elsewhere. A dtype may be named by one of solver.devices'
    COMPUTE_DTYPES ("auto": bf16 where the checkpoint was trained in it and the CPU has native bf16).
    `kind` is needed only for a reference checkpoint whose data path does not name the puzzle kind.
    Raises CheckpointError for anything wrong with the file.
    """
    device = torch.device(device or "cpu")
    tensors, config, _ = read_checkpoint(path, kind=kind)
    if dtype is None:
        dtype = "float32" if device.type == "cpu" else "checkpoint"
    if isinstance(dtype, str):
        dtype = compute_dtype(dtype, device=device, trained=config.forward_dtype)
    return build_model(tensors, config, device=device, dtype=dtype, where=str(path)), config


def save_checkpoint(model: TRM, config: TRMConfig, path: str | os.PathLike, *, provenance: dict) -> Path:
    """Write `model` in the project format. provenance says how the weights were made (e.g. trained on
    what, for how many steps, or 'random initialisation'); it is stored as given, plus a timestamp."""
    if model.config != config:
        raise CheckpointError("the model was built for another config than the one given to save_checkpoint")
    return write_project(dict(model.state_dict()), config, provenance, Path(path))


def convert_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, *, kind: str | None = None) -> Path:
    """Reference -> project format, or project -> reference, chosen by the source's format. Tensors keep
    their dtype and bytes, so the content hash is unchanged."""
    src_path = resolve_checkpoint_path(src)
    tensors, config, provenance = read_checkpoint(src_path, kind=kind)
    dst_path = Path(dst)
    if is_project_file(src_path):
        provenance.pop("content_hash", None)
        return write_reference(tensors, config, provenance, dst_path)
    provenance = {**provenance, "converted_by": "python -m solver convert", "converted_from": str(src_path)}
    return write_project(tensors, config, provenance, dst_path)


EXPORT_FORMATS = ("hf", "reference", "project")


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, *, fmt: str, kind: str | None = None,
                      compiled_prefix: bool = True) -> Path:
    """Write checkpoint `src` (any format) to `dst` as `fmt`: "hf" a Hugging Face folder, "reference" a
    step_N with all_config.yaml, "project" our .safetensors. Tensors keep their bytes: the content hash is
    the same in every format."""
    tensors, config, provenance = read_checkpoint(src, kind=kind)
    provenance = {k: v for k, v in provenance.items() if k != "content_hash"}
    dst_path = Path(dst)
    if fmt == "hf":
        return write_hf(tensors, config, provenance, dst_path)
    if fmt == "reference":
        return write_reference(tensors, config, provenance, dst_path, compiled_prefix=compiled_prefix)
    if fmt == "project":
        return write_project(tensors, config, provenance, dst_path)
    raise CheckpointError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")


def checkpoint_info(path: str | os.PathLike, *, kind: str | None = None) -> dict[str, Any]:
    """What a checkpoint is: format, kind, variant, sizes, parameter count, training steps, content hash,
    provenance. A project file is described from its header alone; a reference file is memory-mapped, a
    Hugging Face folder (solver/hf_format.py) read."""
    path = resolve_checkpoint_path(path)
    digest: str | None
    if path.is_dir():
        tensors, config, provenance = read_hf(path)
        digest = content_hash(tensors)
        fmt, dtypes = "hf", {str(t.dtype).removeprefix("torch.") for t in tensors.values()}
        numels = {k: t.numel() for k, t in tensors.items()}
    elif is_project_file(path):
        meta, shapes = _metadata(path)
        config = _project_config(path, meta)
        provenance = json.loads(meta.get("provenance", "{}"))
        digest = meta.get("content_hash")
        fmt, dtypes = "project", {SAFETENSORS_DTYPES.get(dt, dt.lower()) for _, dt in shapes.values()}
        numels = {k: math.prod(shape) for k, (shape, _) in shapes.items()}
    else:
        tensors, config, provenance = read_reference(path, kind)
        digest = content_hash(tensors)
        fmt, dtypes = "reference", {str(t.dtype).removeprefix("torch.") for t in tensors.values()}
        numels = {k: t.numel() for k, t in tensors.items()}
    return {
        "path": str(path),
        "format": fmt,
        "kind": config.kind,
        "variant": config.variant,
        "parameters": sum(n for k, n in numels.items() if k not in BUFFERS),
        "puzzle_identifiers": config.num_puzzle_identifiers if config.puzzle_emb_ndim else 0,
        "steps": provenance.get("training_step"),
        "trained": provenance.get("trained"),
        "halt_max_steps": config.halt_max_steps,
        "dtypes": sorted(dtypes),
        "content_hash": digest,
        "config": config.to_dict(),
        "provenance": provenance,
    }

