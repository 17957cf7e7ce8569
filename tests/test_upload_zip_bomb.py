"""Hostile reference checkpoints uploaded through the admin: zip bombs (entries deflated to a few MB that
expand to gigabytes), entries that declare sizes the file cannot hold, archives of very many entries, and a
file whose tensors claim more data than it stores. Each is refused with its reason before torch reads it,
without the process allocating the expanded size, and leaves neither a file nor a row behind."""

import resource
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from solver.checkpoint import MAX_ARCHIVE_ENTRIES, CheckpointError, read_checkpoint
from tests.test_admin_checkpoint_chunks import send_in_chunks
from tests.test_admin_checkpoints import ADD_URL, assert_refused, upload

MiB = 2**20
EXPANDED = 2 * 2**30  # what the bomb's data.pkl inflates to


@dataclass
class Entry:
    """One zip entry as it is to be written: `data` as stored, and what the headers declare about it."""

    name: str
    data: bytes
    method: int = zipfile.ZIP_STORED
    crc: int | None = None
    declared_size: int | None = None  # uncompressed size
    declared_stored: int | None = None  # compressed size

    def header_fields(self) -> tuple[int, int, int, int]:
        crc = zlib.crc32(self.data) if self.crc is None else self.crc
        stored = len(self.data) if self.declared_stored is None else self.declared_stored
        size = len(self.data) if self.declared_size is None else self.declared_size
        return self.method, crc, stored, size


def write_zip(path: Path, entries: list[Entry]) -> Path:
    """A zip archive written byte by byte, so that its headers can say what a forger wants."""
    directory = []
    with open(path, "wb") as f:
        for entry in entries:
            method, crc, stored, size = entry.header_fields()
            name = entry.name.encode()
            offset = f.tell()
            f.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 33, crc, stored, size, len(name), 0))
            f.write(name + entry.data)
            directory.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 33, crc, stored, size,
                                         len(name), 0, 0, 0, 0, 0, offset) + name)
        start = f.tell()
        f.write(b"".join(directory))
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), f.tell() - start, start, 0))
    return path


def real_entries(step_file: Path) -> list[Entry]:
    """The entries of a checkpoint torch.save wrote (all stored uncompressed)."""
    with zipfile.ZipFile(step_file) as archive:
        return [Entry(info.filename, archive.read(info)) for info in archive.infolist()]


def deflate_bomb(head: bytes, zeros: int) -> tuple[bytes, int]:
    """`head` then `zeros` zero bytes as a raw deflate stream, and the CRC of what it inflates to.

    After a full flush the compressor starts afresh, so one compressed MiB of zeros repeats verbatim."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(zeros // MiB):
        crc = zlib.crc32(bytes(MiB), crc)
    return start + block * (zeros // MiB) + compressor.flush(zlib.Z_FINISH), crc


@pytest.fixture(scope="module")
def zip_bomb(reference_files, tmp_path_factory) -> Path:
    """The reference step_100 with its data.pkl deflated and followed by 2 GiB of zeros."""
    step_file, _ = reference_files
    entries = real_entries(step_file)
    pickle_entry = next(e for e in entries if e.name.endswith("/data.pkl"))
    pickle_entry.declared_size = len(pickle_entry.data) + EXPANDED
    pickle_entry.data, pickle_entry.crc = deflate_bomb(pickle_entry.data, EXPANDED)
    pickle_entry.method = zipfile.ZIP_DEFLATED
    return write_zip(tmp_path_factory.mktemp("bomb") / "step_100", entries)


def peak_memory_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def test_the_bomb_is_real(zip_bomb):
    with zipfile.ZipFile(zip_bomb) as archive:
        pickle_entry = next(i for i in archive.infolist() if i.filename.endswith("/data.pkl"))
        assert pickle_entry.compress_type == zipfile.ZIP_DEFLATED
        assert pickle_entry.file_size > EXPANDED and zip_bomb.stat().st_size < 4 * MiB
        with archive.open(pickle_entry) as inflating:
            inflating.read(pickle_entry.file_size - EXPANDED)  # the real pickle
            assert inflating.read(8 * MiB) == bytes(8 * MiB)


def test_a_zip_bomb_is_refused_before_torch_inflates_it(admin_client, zip_bomb, reference_files, media_root):
    _, config = reference_files
    before = peak_memory_bytes()

    response = upload(admin_client, "bomb", zip_bomb, config)

    assert_refused(response, media_root, "cannot read reference checkpoint step_100", "data.pkl", "is compressed",
                   f"{EXPANDED:,}"[:5])
    assert peak_memory_bytes() - before < EXPANDED // 4


def test_a_zip_bomb_sent_in_chunks_is_refused(admin_client, zip_bomb, reference_files, media_root):
    _, config = reference_files
    before = peak_memory_bytes()
    upload_id = send_in_chunks(admin_client, zip_bomb.read_bytes(), MiB, name="bomb", file_name="step_100")

    with open(config, "rb") as config_file:
        response = admin_client.post(ADD_URL, {"name": "bomb", "upload_id": upload_id, "config": config_file})

    assert_refused(response, media_root, "data.pkl", "is compressed")
    assert peak_memory_bytes() - before < EXPANDED // 4


def test_an_entry_that_declares_more_than_the_file_holds_is_refused(admin_client, reference_files, tmp_path,
                                                                   media_root):
    step_file, config = reference_files
    entries = real_entries(step_file)
    tensor = next(e for e in entries if "/data/" in e.name)
    tensor.declared_size = tensor.declared_stored = 0xFFFF_FF00  # stored, but 4 GiB it does not have
    forged = write_zip(tmp_path / "step_100", entries)

    assert_refused(upload(admin_client, "forged", forged, config), media_root, "cannot read reference checkpoint",
                   tensor.name, "4,294,967,040 bytes", "damaged or forged")


def test_an_archive_of_very_many_entries_is_refused(admin_client, reference_files, tmp_path, media_root):
    step_file, config = reference_files
    padding = [Entry(f"step_100/junk/{n}", b"") for n in range(MAX_ARCHIVE_ENTRIES + 1)]
    crowded = write_zip(tmp_path / "step_100", real_entries(step_file) + padding)

    assert_refused(upload(admin_client, "crowded", crowded, config), media_root, "cannot read reference checkpoint",
                   f"at most {MAX_ARCHIVE_ENTRIES:,}")


def test_tensors_that_claim_more_data_than_the_file_stores_are_refused(admin_client, reference_files, tmp_path,
                                                                      media_root):
    step_file, config = reference_files
    entries = real_entries(step_file)
    tensor = max((e for e in entries if "/data/" in e.name), key=lambda e: len(e.data))
    original = tensor.data
    tensor.data = tensor.data[:16]  # the pickle still gives the tensor its full shape
    lying = write_zip(tmp_path / "step_100", entries)

    assert_refused(upload(admin_client, "lying", lying, config), media_root, "cannot read reference checkpoint step_100",
                   f"claims {len(original):,} bytes where the file stores 16", "damaged or forged")


def test_the_solver_refuses_a_bomb_on_its_own(zip_bomb, reference_files, tmp_path):
    """The check lives in the solver's reading of a checkpoint, so its command line is safe too."""
    bomb = tmp_path / "step_100"
    bomb.write_bytes(zip_bomb.read_bytes())
    (tmp_path / "all_config.yaml").write_bytes(reference_files[1].read_bytes())
    before = peak_memory_bytes()

    with pytest.raises(CheckpointError, match="is compressed"):
        read_checkpoint(bomb)
    assert peak_memory_bytes() - before < EXPANDED // 4
    # The untouched reference file still reads: torch.save writes entries stored.
    tensors, _, _ = read_checkpoint(reference_files[0])
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


def test_a_zip64_archive_is_counted_by_its_zip64_end_record(reference_files, tmp_path):
    """Over 65,535 entries the count lives in the zip64 end record; it is read there, before any directory
    is parsed."""
    step_file, config = reference_files
    crowded = tmp_path / "step_100"
    with zipfile.ZipFile(crowded, "w") as archive:
        for entry in real_entries(step_file):
            archive.writestr(entry.name, entry.data)
        for n in range(65_536):
            archive.writestr(f"step_100/junk/{n}", b"")
    (tmp_path / "all_config.yaml").write_bytes(config.read_bytes())

    with pytest.raises(CheckpointError, match=f"declares {65_536 + len(real_entries(step_file)):,} entries"):
        read_checkpoint(crowded)
