"""Checkpoint admin, chunked uploads: the upload page sends a checkpoint in pieces (daphne holds a whole
request body in memory), then the form names the upload. Who may send, in which order, how much, that a
refusal leaves nothing behind, and the page's script in a real browser."""

import os
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from puzzles.services.checkpoint_upload import ABANDONED_AFTER_SECONDS
from puzzles.models import Checkpoint
from puzzles.services.checkpoints import checkpoint_staging_folder
from tests.test_admin_checkpoints import ADD_URL, UPLOAD_URL, files_under

START_URL = UPLOAD_URL + "upload/start/"
CHUNK_URL = UPLOAD_URL + "upload/chunk/"


def start(client, size: int, *, name: str = "chunked", file_name: str = "tiny-sudoku.safetensors"):
    return client.post(START_URL, {"name": name, "file_name": file_name, "size": size})


def send(client, upload_id: str, offset: int, data: bytes, headers: dict | None = None):
    return client.post(f"{CHUNK_URL}?upload_id={upload_id}&offset={offset}", data,
                       content_type="application/octet-stream", headers=headers)


def send_in_chunks(client, data: bytes, chunk: int, **start_fields) -> str:
    """Start an upload of `data` and send all of it; the upload id."""
    upload_id = start(client, len(data), **start_fields).json()["upload_id"]
    for offset in range(0, len(data), chunk):
        response = send(client, upload_id, offset, data[offset:offset + chunk])
        assert response.status_code == 200, response.content
        assert response.json()["received"] == min(offset + chunk, len(data))
    return upload_id


def finish(client, upload_id: str, name: str = "chunked", **fields):
    return client.post(ADD_URL, {"name": name, "upload_id": upload_id, **fields})


def staged(media_root: Path) -> list[Path]:
    return files_under(media_root / "checkpoints" / ".incoming")


# ------------------------------------------------------------------------------------------ the flow


def test_a_checkpoint_sent_in_chunks_is_registered_byte_for_byte(admin_client, tiny_checkpoint_files, media_root):
    data = tiny_checkpoint_files["sudoku"].read_bytes()
    answer = start(admin_client, len(data))
    assert answer.status_code == 201 and answer.json()["received"] == 0
    upload_id = answer.json()["upload_id"]
    assert len(upload_id) == 32

    chunk = len(data) // 4 + 1
    for offset in range(0, len(data), chunk):
        assert send(admin_client, upload_id, offset, data[offset:offset + chunk]).status_code == 200
    response = finish(admin_client, upload_id, activate="on")

    checkpoint = Checkpoint.objects.get(name="chunked")
    assert response.status_code == 302 and response.url == f"{UPLOAD_URL}{checkpoint.pk}/change/"
    assert checkpoint.is_active and checkpoint.kind == "sudoku"
    assert Path(checkpoint.path).read_bytes() == data
    assert files_under(media_root) == [Path(checkpoint.path)]  # nothing left in the staging folder


def test_a_reference_checkpoint_sent_in_chunks_is_converted_with_the_config_sent_in_the_form(
        admin_client, reference_files, media_root):
    step_file, config = reference_files
    upload_id = send_in_chunks(admin_client, step_file.read_bytes(), 300_000, file_name="step_100")

    with open(config, "rb") as config_file:
        response = admin_client.post(ADD_URL, {"name": "reference", "upload_id": upload_id, "config": config_file})

    assert response.status_code == 302, response.content.decode()
    checkpoint = Checkpoint.objects.get(name="reference")
    assert checkpoint.info["steps"] == 100 and checkpoint.info["provenance"]["source"] == "step_100"
    assert files_under(media_root) == [Path(checkpoint.path)]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_chunks_through_the_asgi_handler_daphne_serves_are_accepted(async_client, tiny_checkpoint_files,
                                                                         media_root):
    await async_client.aforce_login(await User.objects.acreate(username="root", is_staff=True, is_superuser=True))
    data = tiny_checkpoint_files["maze"].read_bytes()
    upload_id = (await async_client.post(START_URL, {"name": "maze", "file_name": "m.safetensors",
                                                     "size": len(data)})).json()["upload_id"]
    half = len(data) // 2
    for offset, piece in ((0, data[:half]), (half, data[half:])):
        response = await async_client.post(f"{CHUNK_URL}?upload_id={upload_id}&offset={offset}", piece,
                                           content_type="application/octet-stream")
        assert response.status_code == 200

    assert (await async_client.post(ADD_URL, {"name": "maze", "upload_id": upload_id})).status_code == 302
    checkpoint = await Checkpoint.objects.aget(name="maze")
    assert Path(checkpoint.path).read_bytes() == data


def test_a_chunk_at_the_wrong_offset_is_refused_with_the_offset_to_send(admin_client, media_root):
    upload_id = start(admin_client, 300).json()["upload_id"]
    assert send(admin_client, upload_id, 0, b"a" * 100).status_code == 200

    ahead = send(admin_client, upload_id, 200, b"c" * 100)
    repeated = send(admin_client, upload_id, 0, b"a" * 100)  # a retry whose first answer was lost

    for response in (ahead, repeated):
        assert response.status_code == 409
        assert response.json()["received"] == 100
        assert "send the chunk that starts at byte 100" in response.json()["error"]
    assert send(admin_client, upload_id, 100, b"b" * 100).status_code == 200
    assert (checkpoint_staging_folder() / f"chunked-{upload_id}.part").read_bytes() == b"a" * 100 + b"b" * 100


def test_a_form_refused_for_its_fields_keeps_the_upload_for_the_next_try(admin_client, tiny_checkpoint_files,
                                                                         media_root):
    data = tiny_checkpoint_files["sudoku"].read_bytes()
    upload_id = send_in_chunks(admin_client, data, 500_000)

    again = finish(admin_client, upload_id, kind="chess")
    assert again.status_code == 200 and "Select a valid choice" in again.content.decode()
    assert f'value="{upload_id}"' in again.content.decode() and "has arrived already" in again.content.decode()

    assert finish(admin_client, upload_id).status_code == 302
    assert Path(Checkpoint.objects.get().path).read_bytes() == data


# ------------------------------------------------------------------------------------------ who may


@pytest.fixture
def other_staff(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("other", password="x"))
    return client


def test_another_staff_user_can_neither_add_to_nor_finish_someone_elses_upload(admin_client, other_staff,
                                                                             tiny_checkpoint_files, media_root):
    data = tiny_checkpoint_files["sudoku"].read_bytes()
    upload_id = start(admin_client, len(data)).json()["upload_id"]
    send(admin_client, upload_id, 0, data[:1000])

    intruding = send(other_staff, upload_id, 1000, data[1000:2000])
    assert intruding.status_code == 403 and "started by another user" in intruding.json()["error"]
    finishing = finish(other_staff, upload_id)
    assert finishing.status_code == 200 and Checkpoint.objects.count() == 0

    assert send(admin_client, upload_id, 1000, data[1000:]).status_code == 200  # untouched, the owner goes on
    assert finish(admin_client, upload_id).status_code == 302


def test_non_staff_and_staff_without_the_add_permission_are_refused(client, django_user_model, media_root):
    assert start(client, 100).url.startswith("/admin/login/")
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))
    assert start(client, 100).url.startswith("/admin/login/")
    assert send(client, "0" * 32, 0, b"x").url.startswith("/admin/login/")

    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_checkpoint"))
    client.force_login(staff)
    assert start(client, 100).status_code == 403
    assert send(client, "0" * 32, 0, b"x").status_code == 403
    assert files_under(media_root) == []


def test_chunks_need_the_csrf_token(db, media_root):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root", password="x"))
    token = client.get(ADD_URL).cookies["csrftoken"].value  # the page sets the cookie the token goes with
    upload_id = client.post(START_URL, {"name": "c", "file_name": "c", "size": 10},
                            headers={"X-CSRFToken": token}).json()["upload_id"]

    assert send(client, upload_id, 0, b"x" * 10).status_code == 403
    assert send(client, upload_id, 0, b"x" * 10, {"X-CSRFToken": token}).status_code == 200


# ------------------------------------------------------------------------------------------ how much


def test_a_checkpoint_over_the_cap_is_refused_before_any_byte_is_sent(admin_client, settings, media_root):
    settings.TRM_MAX_CHECKPOINT_BYTES = 10_000

    response = start(admin_client, 10_001)

    assert response.status_code == 413 and "at most 9.8" in response.json()["error"]
    assert files_under(media_root) == []


def test_a_chunk_past_the_declared_size_or_the_cap_deletes_the_upload(admin_client, settings, media_root):
    past_size = start(admin_client, 1000).json()["upload_id"]
    send(admin_client, past_size, 0, b"x" * 600)
    response = send(admin_client, past_size, 600, b"x" * 401)
    assert response.status_code == 413 and "the upload was deleted" in response.json()["error"]
    assert staged(media_root) == []
    assert send(admin_client, past_size, 600, b"x" * 400).status_code == 404

    past_cap = start(admin_client, 1000).json()["upload_id"]
    send(admin_client, past_cap, 0, b"x" * 600)
    settings.TRM_MAX_CHECKPOINT_BYTES = 800  # lowered meanwhile
    assert send(admin_client, past_cap, 600, b"x" * 400).status_code == 413
    assert staged(media_root) == []


def test_a_chunk_larger_than_a_chunk_may_be_is_refused(admin_client, media_root, monkeypatch):
    monkeypatch.setattr("puzzles.services.checkpoint_upload.CHUNK_MAX_BYTES", 1000)
    upload_id = start(admin_client, 5000).json()["upload_id"]

    response = send(admin_client, upload_id, 0, b"x" * 1001)

    assert response.status_code == 413 and "1,001 bytes" in response.json()["error"]
    assert (checkpoint_staging_folder() / f"chunked-{upload_id}.part").stat().st_size == 0


def test_an_incomplete_upload_is_refused_and_deleted(admin_client, tiny_checkpoint_files, media_root):
    data = tiny_checkpoint_files["sudoku"].read_bytes()
    upload_id = start(admin_client, len(data)).json()["upload_id"]
    send(admin_client, upload_id, 0, data[:1000])

    response = finish(admin_client, upload_id)

    assert response.status_code == 200 and f"only 1,000 of the {len(data):,} bytes" in response.content.decode()
    assert Checkpoint.objects.count() == 0 and files_under(media_root) == []


def test_a_checkpoint_that_fails_validation_leaves_neither_file_nor_row(admin_client, tiny_checkpoint_files,
                                                                        media_root):
    data = tiny_checkpoint_files["sudoku"].read_bytes()
    truncated = data[: len(data) // 2]  # valid-looking until the tensors are read
    upload_id = send_in_chunks(admin_client, truncated, 200_000, file_name="truncated.safetensors")

    response = finish(admin_client, upload_id)

    page = response.content.decode()
    assert response.status_code == 200 and "Please correct the error" in page
    assert "truncated.safetensors" in page and "not a valid safetensors file" in page
    assert Checkpoint.objects.count() == 0 and files_under(media_root) == []
    assert finish(admin_client, upload_id).status_code == 200  # the upload is used up
    assert Checkpoint.objects.count() == 0


def test_a_name_already_taken_is_refused_before_any_byte_is_sent(admin_client, tiny_checkpoint_files, media_root):
    data = tiny_checkpoint_files["sudoku"].read_bytes()
    finish(admin_client, send_in_chunks(admin_client, data, len(data), name="taken"), name="taken")

    response = start(admin_client, 100, name="taken")

    assert response.status_code == 409 and "already exists" in response.json()["error"]
    assert staged(media_root) == []


def test_abandoned_uploads_are_deleted_when_another_starts(admin_client, media_root):
    old = start(admin_client, 100).json()["upload_id"]
    send(admin_client, old, 0, b"x" * 10)
    recent = start(admin_client, 100).json()["upload_id"]
    long_ago = time.time() - ABANDONED_AFTER_SECONDS - 60
    for path in checkpoint_staging_folder().glob(f"chunked-{old}.*"):
        os.utime(path, (long_ago, long_ago))

    newest = start(admin_client, 100).json()["upload_id"]

    assert {p.stem for p in staged(media_root)} == {f"chunked-{recent}", f"chunked-{newest}"}


# ------------------------------------------------------------------------------------------ the page


def test_the_upload_page_sends_the_checkpoint_in_chunks_with_progress(browser, live_server, transactional_db,
                                                                      tiny_checkpoint_files, media_root):
    User.objects.create_superuser("root", password="secret-root")
    source = tiny_checkpoint_files["sudoku"]
    page = browser.new_page()
    chunk_requests = []
    page.on("request", lambda request: CHUNK_URL in request.url and chunk_requests.append(request.url))
    # What the progress bar said, kept in sessionStorage across the final page load.
    page.add_init_script("""document.addEventListener("DOMContentLoaded", () => {
        const text = document.getElementById("checkpoint-upload-progress-text");
        if (!text) return;
        new MutationObserver(() => {
            const seen = JSON.parse(sessionStorage.getItem("progress") || "[]");
            const bar = document.querySelector("#checkpoint-upload-progress progress");
            sessionStorage.setItem("progress", JSON.stringify([...seen, [bar.value, text.textContent]]));
        }).observe(text, {childList: true, characterData: true, subtree: true});
    });""")

    page.goto(live_server.url + ADD_URL)
    page.fill("#id_username", "root")
    page.fill("#id_password", "secret-root")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + ADD_URL)
    failed = []  # the second chunk fails once, as a server restarting would answer it

    def fail_once(route):
        if "offset=262144" in route.request.url and not failed:
            failed.append(route.request.url)
            return route.fulfill(status=503, body="restarting")
        return route.continue_()

    page.route("**" + CHUNK_URL + "*", fail_once)
    page.eval_on_selector("#checkpoint_upload_form", "form => { form.dataset.chunkBytes = '262144'; }")
    page.fill("#id_name", "sudoku-from-browser")
    page.set_input_files("#id_checkpoint", str(source))
    page.click("input[type=submit][value=Upload]")
    page.wait_for_url("**/change/", timeout=30_000)

    progress = page.evaluate("JSON.parse(sessionStorage.getItem('progress'))")
    percents = [value for value, _ in progress]
    assert percents == sorted(percents) and percents[0] == 0 and 0 < percents[2] < 100
    assert progress[-1][0] == 100 and "(100%) — checking the checkpoint" in progress[-1][1]
    assert any("HTTP 503" in text and "trying again in 1 s" in text for _, text in progress)
    assert "Accepted sudoku-from-browser" in page.locator(".messagelist").inner_text()
    assert failed and len(chunk_requests) == -(-source.stat().st_size // 262144) + 1 > 2
    checkpoint = Checkpoint.objects.get(name="sudoku-from-browser")
    assert Path(checkpoint.path).read_bytes() == source.read_bytes()
    page.goto(live_server.url + UPLOAD_URL)
    assert "sudoku-from-browser" in page.locator("#result_list").inner_text()
    page.close()
