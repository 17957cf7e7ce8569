"""Checkpoint admin: uploading real checkpoint files (both formats), what is refused and that a refusal
leaves nothing behind, who may upload, activating one per kind, and which deletes are refused."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from safetensors import safe_open
from safetensors.torch import save_file

from puzzles.services.checkpoint_upload import CheckpointUploadHandler
from puzzles.models import Checkpoint, Puzzle, SolveJob
from puzzles.services.checkpoints import checkpoint_register
from solver.checkpoint import checkpoint_info, is_project_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
UPLOAD_URL = "/admin/puzzles/checkpoint/"
ADD_URL = UPLOAD_URL + "add/"


def solver_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "solver", *args], check=True, cwd=PROJECT_DIR, capture_output=True)


@pytest.fixture(scope="session")
def second_sudoku_file(tmp_path_factory) -> Path:
    """Another tiny Sudoku checkpoint (other weights), to have two of one kind."""
    path = tmp_path_factory.mktemp("second") / "tiny-sudoku-2.safetensors"
    solver_cli("init", "--kind", "sudoku", "--output", str(path), "--hidden-size", "32", "--num-heads", "2",
               "--H-cycles", "2", "--L-cycles", "2", "--seed", "2")
    return path


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def rewritten(src: Path, dst: Path, *, tensors=None, metadata=None) -> Path:
    """A copy of a project file with some tensors and metadata entries replaced."""
    with safe_open(str(src), framework="pt") as f:
        all_tensors = {k: f.get_tensor(k) for k in f.keys()}
        all_metadata = f.metadata()
    save_file({**all_tensors, **(tensors or {})}, str(dst), metadata={**all_metadata, **(metadata or {})})
    return dst


def upload(client, name: str, checkpoint: Path, config: Path | None = None, **fields):
    data = {"name": name, **fields}
    with open(checkpoint, "rb") as checkpoint_file:
        data["checkpoint"] = checkpoint_file
        if config is None:
            return client.post(ADD_URL, data)
        with open(config, "rb") as config_file:
            data["config"] = config_file
            return client.post(ADD_URL, data)


def shown_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def assert_refused(response, media_root: Path, *words: str) -> None:
    """The form came back with the reason, and neither a row nor a file was kept."""
    assert response.status_code == 200, response
    page = response.content.decode()
    assert "Please correct the error" in page
    for word in words:
        assert word in page, f"{word!r} not in the refusal"
    assert Checkpoint.objects.count() == 0
    assert files_under(media_root) == []


# ------------------------------------------------------------------------------------------ upload


def test_a_project_checkpoint_is_stored_registered_and_described(admin_client, tiny_checkpoint_files, media_root):
    source = tiny_checkpoint_files["sudoku"]
    form = admin_client.get(ADD_URL).content.decode()
    assert 'enctype="multipart/form-data"' in form and 'name="config"' in form and 'name="kind"' in form

    response = upload(admin_client, "sudoku-tiny", source)

    checkpoint = Checkpoint.objects.get(name="sudoku-tiny")
    assert response.status_code == 302 and response.url == f"{UPLOAD_URL}{checkpoint.pk}/change/"
    expected = checkpoint_info(source)
    assert (checkpoint.kind, checkpoint.variant, checkpoint.parameters, checkpoint.halt_max_steps, checkpoint.trained) \
        == ("sudoku", expected["variant"], expected["parameters"], expected["halt_max_steps"], False)
    assert checkpoint.content_hash == expected["content_hash"]
    assert not checkpoint.is_active
    stored = Path(checkpoint.path)
    assert stored.parent == media_root / "checkpoints"
    assert stored.read_bytes() == source.read_bytes()
    assert files_under(media_root) == [stored]  # nothing left in the staging folder

    page = admin_client.get(response.url).content.decode()
    for shown in (expected["variant"], f"{expected['parameters']}", expected["content_hash"],
                  "none recorded with this checkpoint", "python -m solver init", "Activate"):
        assert shown in page


def test_held_out_figures_recorded_in_the_file_are_shown(admin_client, tiny_checkpoint_files, tmp_path):
    source = tiny_checkpoint_files["maze"]
    with safe_open(str(source), framework="pt") as f:
        provenance = json.loads(f.metadata()["provenance"])
    evaluation = {"split": "maze-30x30-hard test", "puzzles": 1000, "exact_accuracy": 0.853}
    file = rewritten(source, tmp_path / "evaluated.safetensors",
                     metadata={"provenance": json.dumps({**provenance, "evaluation": evaluation})})

    response = upload(admin_client, "maze-evaluated", file)

    page = admin_client.get(response.url).content.decode()
    assert "maze-30x30-hard test" in page and "0.853" in page


def test_the_training_curve_that_came_with_the_checkpoint_is_drawn(admin_client, tmp_path):
    import re

    from solver.cli import main as solver_main
    from tests.solver.test_train import tiny_config, write_sudoku_dataset
    from solver.train import train

    data = write_sudoku_dataset(tmp_path / "data")
    result = train(tiny_config(data, tmp_path / "run", max_steps=8, log_every=2, eval_at_end=False), log=lambda _: None)
    with safe_open(str(result.checkpoint), framework="pt") as f:
        curve = json.loads(f.metadata()["provenance"])["training_curve"]
    assert [point["step"] for point in curve] == [2, 4, 6, 8] and all(point["loss"] > 0 for point in curve)

    page = admin_client.get(upload(admin_client, "trained-here", result.checkpoint).url).content.decode()

    svg = re.search(r'<svg[^>]*class="training-curve".*?</svg>', page, re.S).group(0)
    assert "updates 2 to 8" in svg and svg.count("<polyline") == 3
    assert all(len(re.findall(r"\d+\.\d,\d+\.\d", line)) == 4 for line in re.findall(r'points="([^"]*)"', svg))
    assert solver_main(["init", "--kind", "sudoku", "--output", str(tmp_path / "untrained.safetensors"), "--hidden-size", "16",
                        "--num-heads", "2"]) == 0
    untrained = admin_client.get(upload(admin_client, "untrained", tmp_path / "untrained.safetensors").url).content.decode()
    assert "its training did not write metrics.jsonl" in untrained


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_upload_through_the_asgi_handler_daphne_serves_is_accepted(async_client, tiny_checkpoint_files,
                                                                           media_root):
    admin = await User.objects.acreate(username="root", is_staff=True, is_superuser=True)
    await async_client.aforce_login(admin)

    with open(tiny_checkpoint_files["maze"], "rb") as file:
        response = await async_client.post(ADD_URL, {"name": "maze-asgi", "checkpoint": file})

    assert response.status_code == 302
    checkpoint = await Checkpoint.objects.aget(name="maze-asgi")
    assert files_under(media_root) == [Path(checkpoint.path)]


def test_a_reference_checkpoint_with_its_config_is_converted(admin_client, reference_files, tiny_checkpoint_files,
                                                            media_root):
    step_file, config = reference_files

    response = upload(admin_client, "sudoku-reference", step_file, config)

    assert response.status_code == 302, response.content.decode()
    checkpoint = Checkpoint.objects.get(name="sudoku-reference")
    stored = Path(checkpoint.path)
    assert is_project_file(stored) and stored.parent == media_root / "checkpoints"
    assert files_under(media_root) == [stored]
    # Conversion keeps the tensors' bytes, so the weights keep their identity.
    assert checkpoint.content_hash == checkpoint_info(tiny_checkpoint_files["sudoku"])["content_hash"]
    assert checkpoint.info["format"] == "project"
    assert checkpoint.info["steps"] == 100
    assert checkpoint.info["provenance"]["source"] == "step_100"
    assert checkpoint.info["provenance"]["converted_by"] == "admin upload"


def test_a_reference_checkpoint_whose_kind_is_not_in_its_config_needs_the_kind(admin_client, reference_files,
                                                                              tmp_path, media_root):
    step_file, config = reference_files
    vague = tmp_path / "all_config.yaml"
    vague.write_text(config.read_text().replace("data/sudoku", "data/run-7"))

    assert_refused(upload(admin_client, "vague", step_file, vague), media_root, "cannot tell the puzzle kind",
                   "choose the puzzle kind")

    response = upload(admin_client, "vague", step_file, vague, kind="sudoku")
    assert response.status_code == 302
    assert Checkpoint.objects.get(name="vague").kind == "sudoku"


def test_a_truncated_checkpoint_is_refused(admin_client, tiny_checkpoint_files, tmp_path, media_root):
    data = tiny_checkpoint_files["sudoku"].read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])

    assert_refused(upload(admin_client, "truncated", truncated), media_root, "truncated.safetensors",
                   "not a valid safetensors file")


def test_a_truncated_reference_checkpoint_is_refused(admin_client, reference_files, tmp_path, media_root):
    step_file, config = reference_files
    truncated = tmp_path / "step_100"
    truncated.write_bytes(step_file.read_bytes()[:5000])

    assert_refused(upload(admin_client, "truncated", truncated, config), media_root,
                   "cannot read reference checkpoint step_100")


class RunsCodeWhenUnpickled:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


def test_a_pickle_that_would_run_code_is_refused_without_running_it(admin_client, reference_files, tmp_path,
                                                                   media_root):
    _, config = reference_files
    marker = tmp_path / "code-ran"
    evil = tmp_path / "step_5"
    torch.save({"_orig_mod.model.inner.lm_head.weight": RunsCodeWhenUnpickled(marker)}, evil)
    # The payload is live: a careless load runs it.
    torch.load(evil, weights_only=False)
    assert marker.exists()
    marker.unlink()

    response = upload(admin_client, "evil", evil, config)

    assert_refused(response, media_root, "cannot read reference checkpoint step_5", "Weights only load failed")
    assert "\x1b" not in response.content.decode()  # torch's terminal escapes do not reach the page
    assert not marker.exists()


def test_a_checkpoint_whose_tensor_shapes_contradict_its_config_is_refused(admin_client, tiny_checkpoint_files,
                                                                          tmp_path, media_root):
    source = tiny_checkpoint_files["sudoku"]
    with safe_open(str(source), framework="pt") as f:
        head = f.get_tensor("lm_head.weight")
    lying = rewritten(source, tmp_path / "lying.safetensors", tensors={"lm_head.weight": head[:, :16].contiguous()})

    assert_refused(upload(admin_client, "lying", lying), media_root, "lying.safetensors", "lm_head.weight",
                   f"has shape [{head.shape[0]}, 16], expected [{head.shape[0]}, {head.shape[1]}]")


def test_a_checkpoint_whose_weights_were_altered_after_writing_is_refused(admin_client, tiny_checkpoint_files,
                                                                         tmp_path, media_root):
    source = tiny_checkpoint_files["sudoku"]
    with safe_open(str(source), framework="pt") as f:
        head = f.get_tensor("lm_head.weight")
    altered = rewritten(source, tmp_path / "altered.safetensors", tensors={"lm_head.weight": head + 1})

    assert_refused(upload(admin_client, "altered", altered), media_root, "altered.safetensors",
                   "changed or damaged after it was written")


def test_a_checkpoint_of_an_unknown_kind_is_refused(admin_client, tiny_checkpoint_files, tmp_path, media_root):
    source = tiny_checkpoint_files["sudoku"]
    with safe_open(str(source), framework="pt") as f:
        config = json.loads(f.metadata()["config"])
    chess = rewritten(source, tmp_path / "chess.safetensors",
                      metadata={"config": json.dumps({**config, "kind": "chess"})})

    assert_refused(upload(admin_client, "chess", chess), media_root, "kind &#x27;chess&#x27; is not one of")


def test_a_file_that_is_neither_format_is_refused(admin_client, tmp_path, media_root):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")

    assert_refused(upload(admin_client, "notes", text), media_root, "notes.txt is not a project .safetensors",
                   "all_config.yaml")


def test_a_checkpoint_over_the_size_cap_is_refused_while_streaming(admin_client, settings, tiny_checkpoint_files,
                                                                  media_root, monkeypatch):
    settings.TRM_MAX_CHECKPOINT_BYTES = 10_000
    written = []
    real_write = CheckpointUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        real_write(self, raw_data, start)
        written.append(len(raw_data))

    monkeypatch.setattr(CheckpointUploadHandler, "receive_data_chunk", spy)

    assert_refused(upload(admin_client, "big", tiny_checkpoint_files["sudoku"]), media_root, "tiny-sudoku.safetensors",
                   "larger than 9.8", "nothing of it was kept")
    assert sum(written) <= 10_000


def test_uploads_stream_to_disk_in_chunks(admin_client, tiny_checkpoint_files, monkeypatch):
    source = tiny_checkpoint_files["arc"]
    chunks = []
    real_write = CheckpointUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        chunks.append(len(raw_data))
        return real_write(self, raw_data, start)

    monkeypatch.setattr(CheckpointUploadHandler, "receive_data_chunk", spy)

    assert upload(admin_client, "arc-tiny", source).status_code == 302
    assert len(chunks) > 1 and max(chunks) <= CheckpointUploadHandler.chunk_size
    assert sum(chunks) == source.stat().st_size


def test_a_name_already_taken_is_refused(admin_client, tiny_checkpoint_files, second_sudoku_file, media_root):
    upload(admin_client, "sudoku", tiny_checkpoint_files["sudoku"])

    response = upload(admin_client, "sudoku", second_sudoku_file)

    assert "already exists" in response.content.decode()
    assert Checkpoint.objects.count() == 1 and len(files_under(media_root)) == 1


def test_an_upload_can_activate_the_checkpoint(admin_client, tiny_checkpoint_files, second_sudoku_file):
    upload(admin_client, "first", tiny_checkpoint_files["sudoku"], activate="on")
    upload(admin_client, "second", second_sudoku_file, activate="on")

    assert list(Checkpoint.objects.filter(is_active=True).values_list("name", flat=True)) == ["second"]


def test_the_list_shows_the_checkpoints_and_only_the_name_can_be_changed(admin_client, tiny_checkpoint_files):
    upload(admin_client, "sudoku-tiny", tiny_checkpoint_files["sudoku"])
    checkpoint = Checkpoint.objects.get()

    listing = admin_client.get(UPLOAD_URL).content.decode()
    assert "sudoku-tiny" in listing and checkpoint.content_hash.removeprefix("sha256:")[:12] in listing

    response = admin_client.post(f"{UPLOAD_URL}{checkpoint.pk}/change/",
                                 {"name": "renamed", "kind": "maze", "content_hash": "sha256:0", "is_active": "on"})
    assert response.status_code == 302
    checkpoint.refresh_from_db()
    assert (checkpoint.name, checkpoint.kind, checkpoint.is_active) == ("renamed", "sudoku", False)
    assert checkpoint.content_hash.startswith("sha256:") and len(checkpoint.content_hash) == 71


# ------------------------------------------------------------------------------------------ who may


def test_anonymous_and_non_staff_users_are_sent_to_the_login(client, django_user_model, tiny_checkpoint_files,
                                                             media_root):
    assert client.get(ADD_URL).url.startswith("/admin/login/")
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))

    response = upload(client, "sneaky", tiny_checkpoint_files["sudoku"])

    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    assert Checkpoint.objects.count() == 0 and files_under(media_root) == []


def test_staff_without_the_add_permission_are_forbidden(client, django_user_model, tiny_checkpoint_files,
                                                        media_root):
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_checkpoint"))
    client.force_login(staff)

    assert upload(client, "sneaky", tiny_checkpoint_files["sudoku"]).status_code == 403
    assert Checkpoint.objects.count() == 0 and files_under(media_root) == []


def test_the_upload_form_checks_csrf(tiny_checkpoint_files, media_root, db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root", password="x"))

    assert upload(client, "no-token", tiny_checkpoint_files["sudoku"]).status_code == 403
    assert Checkpoint.objects.count() == 0 and files_under(media_root) == []


# ------------------------------------------------------------------------------------------ activate


@pytest.fixture
def two_sudoku(db, tiny_checkpoint_files, second_sudoku_file) -> tuple[Checkpoint, Checkpoint]:
    first = checkpoint_register(path=tiny_checkpoint_files["sudoku"], name="first", activate=True)
    second = checkpoint_register(path=second_sudoku_file, name="second")
    checkpoint_register(path=tiny_checkpoint_files["maze"], name="maze", activate=True)
    return first, second


def active_names() -> set[str]:
    return set(Checkpoint.objects.filter(is_active=True).values_list("name", flat=True))


def test_the_activate_action_switches_the_active_checkpoint_of_that_kind(admin_client, two_sudoku):
    first, second = two_sudoku

    response = admin_client.post(UPLOAD_URL, {"action": "activate_selected", "_selected_action": [second.pk]})

    assert response.status_code == 302
    assert active_names() == {"second", "maze"}
    assert "second is now the active sudoku checkpoint." in shown_messages(response)


def test_activating_two_of_one_kind_at_once_is_refused(admin_client, two_sudoku):
    first, second = two_sudoku

    response = admin_client.post(UPLOAD_URL, {"action": "activate_selected", "_selected_action": [first.pk, second.pk]})

    assert active_names() == {"first", "maze"}
    assert any("Only one checkpoint per kind" in m for m in shown_messages(response))


def test_the_activate_button_activates_by_post_only(admin_client, two_sudoku):
    _, second = two_sudoku
    url = f"{UPLOAD_URL}{second.pk}/activate/"
    assert f'action="{url}"' in admin_client.get(f"{UPLOAD_URL}{second.pk}/change/").content.decode()

    assert admin_client.get(url).status_code == 405
    assert active_names() == {"first", "maze"}

    response = admin_client.post(url)
    assert response.status_code == 302 and response.url == f"{UPLOAD_URL}{second.pk}/change/"
    assert active_names() == {"second", "maze"}


# ------------------------------------------------------------------------------------------ delete


def job_with(checkpoint: Checkpoint) -> SolveJob:
    puzzle = Puzzle.objects.create(kind=checkpoint.kind, data={"grid": [[0] * 9] * 9})
    return SolveJob.objects.create(puzzle=puzzle, checkpoint=checkpoint, steps_requested=1, owner_key="user:1")


def test_deleting_the_active_checkpoint_is_refused_with_a_reason(admin_client, two_sudoku):
    first, _ = two_sudoku
    url = f"{UPLOAD_URL}{first.pk}/delete/"

    for response in (admin_client.get(url), admin_client.post(url, {"post": "yes"})):
        assert response.status_code == 302 and response.url == f"{UPLOAD_URL}{first.pk}/change/"
        assert any("it is the active sudoku checkpoint" in m for m in shown_messages(response))
    assert Checkpoint.objects.filter(pk=first.pk).exists()


def test_deleting_a_checkpoint_that_jobs_ran_with_is_refused_with_a_reason(admin_client, two_sudoku):
    _, second = two_sudoku
    job_with(second)

    response = admin_client.post(f"{UPLOAD_URL}{second.pk}/delete/", {"post": "yes"})

    assert any("1 solve job ran with it" in m for m in shown_messages(response))
    assert Checkpoint.objects.filter(pk=second.pk).exists()


def test_bulk_delete_refuses_the_whole_batch_when_one_is_in_use(admin_client, two_sudoku, tiny_checkpoint_files):
    first, second = two_sudoku
    arc = checkpoint_register(path=tiny_checkpoint_files["arc"], name="arc")
    job_with(second)

    response = admin_client.post(UPLOAD_URL, {"action": "delete_selected", "post": "yes",
                                              "_selected_action": [first.pk, second.pk, arc.pk]})

    said = shown_messages(response)
    assert any("it is the active sudoku checkpoint" in m for m in said)
    assert any("1 solve job ran with it" in m for m in said)
    assert "Nothing was deleted." in said
    assert Checkpoint.objects.count() == 4


def test_deleting_an_unused_uploaded_checkpoint_removes_its_file(admin_client, tiny_checkpoint_files, media_root,
                                                                 django_capture_on_commit_callbacks):
    upload(admin_client, "single", tiny_checkpoint_files["sudoku"])
    upload(admin_client, "bulk", tiny_checkpoint_files["maze"])
    single, bulk = Checkpoint.objects.get(name="single"), Checkpoint.objects.get(name="bulk")
    assert len(files_under(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        confirm = admin_client.get(f"{UPLOAD_URL}{single.pk}/delete/")
        assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
        admin_client.post(f"{UPLOAD_URL}{single.pk}/delete/", {"post": "yes"})
    assert files_under(media_root) == [Path(bulk.path)]

    with django_capture_on_commit_callbacks(execute=True):
        confirm = admin_client.post(UPLOAD_URL, {"action": "delete_selected", "_selected_action": [bulk.pk]})
        assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
        admin_client.post(UPLOAD_URL, {"action": "delete_selected", "post": "yes", "_selected_action": [bulk.pk]})
    assert Checkpoint.objects.count() == 0
    assert files_under(media_root) == []


def test_deleting_a_checkpoint_never_removes_a_file_outside_media_root(admin_client, two_sudoku,
                                                                      django_capture_on_commit_callbacks):
    _, second = two_sudoku

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"{UPLOAD_URL}{second.pk}/delete/", {"post": "yes"})

    assert not Checkpoint.objects.filter(pk=second.pk).exists()
    assert Path(second.path).exists()
