"""The real page in headless Chromium, against the real server, worker and Redis."""

import re
from pathlib import Path

import pytest

from tests.browser import drag_across

pytestmark = pytest.mark.stack

SCREENSHOTS = Path(__file__).resolve().parent / "artifacts"
BLANK_10 = "\n".join(["S" + " " * 9, *[" " * 10] * 8, " " * 9 + "G"])  # a blank 10x10 board, S and G in corners


def test_submit_a_sudoku_and_watch_every_step_arrive(stack, active_checkpoints, page):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="Sudoku").check()
    assert not page.locator("#maze-tools").is_visible()  # each kind shows only its own tools
    page.get_by_role("button", name="Example").click()
    page.locator("#steps").fill("4")
    page.screenshot(path=SCREENSHOTS / "playground.png", full_page=True)

    page.get_by_role("button", name="Solve").click()

    page.wait_for_url("**/jobs/*/")
    page.locator("#job-status", has_text="done").wait_for(timeout=60_000)
    page.locator("#step-number", has_text="4").wait_for(timeout=10_000)
    assert page.locator("#grid .cell").count() == 81
    page.screenshot(path=SCREENSHOTS / "job.png")

    page.keyboard.press("ArrowLeft")
    assert page.locator("#step-number").inner_text() == "3"
    page.wait_for_timeout(1000)  # playback paused: it stays on step 3
    assert page.locator("#step-number").inner_text() == "3"
    assert page.locator("#play-button").inner_text() == "Play"


def test_a_bad_puzzle_shows_its_error_and_stays_on_the_page(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="Maze").check()
    page.locator("#puzzle-text").fill("#####\n#S  #\n#####")

    page.get_by_role("button", name="Solve").click()

    error = page.locator("#form-error")
    error.wait_for(state="visible")
    assert "exactly one 'G'" in error.inner_text()
    assert page.url.rstrip("/") == stack.base_url


def test_a_maze_larger_than_the_active_models_field_is_flagged_before_and_refused_on_submit(stack, active_checkpoints,
                                                                                          page, tmp_path):
    import subprocess
    import sys

    from puzzles.services.checkpoints import checkpoint_register

    path = tmp_path / "maze10.safetensors"
    subprocess.run([sys.executable, "-m", "solver", "init", "--kind", "maze", "--field", "10", "--output", str(path),
                    "--hidden-size", "16", "--num-heads", "2"], check=True, capture_output=True)
    checkpoint_register(path=path, name="maze-10", activate=True)
    page.goto(stack.base_url + "/")
    assert "takes mazes up to 10×10" in page.locator(".checkpoints").inner_text()
    page.get_by_role("radio", name="Maze").check()
    assert page.locator("#maze-info").inner_text() == "Shortest path: 12 steps."  # the 7x7 start fits

    page.locator("#puzzle-text").fill("S" + " " * 10 + "\n" + " " * 10 + "G")
    assert page.locator("#maze-info").inner_text() == (
        "Shortest path: 11 steps. The active maze model takes mazes up to 10×10; make it smaller or pick "
        "another checkpoint.")
    page.get_by_role("button", name="Solve").click()

    error = page.locator("#form-error")
    error.wait_for(state="visible")
    assert "at most 10 are allowed by this model, whose field is 10x10" in error.inner_text()
    assert page.url.rstrip("/") == stack.base_url


def test_cancel_a_running_solve_from_its_page_and_find_it_in_the_history(stack, slowest_maze_checkpoint, page):
    from puzzles.services.checkpoints import checkpoint_activate

    checkpoint_activate(checkpoint=slowest_maze_checkpoint)
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="Maze").check()
    page.get_by_role("button", name="Example").click()
    page.get_by_role("button", name="Solve").click()
    page.wait_for_url("**/jobs/*/")
    page.locator("#step-number", has_text=re.compile(r"^1$")).wait_for(timeout=60_000)

    page.get_by_role("button", name="Cancel solve").click()

    page.locator("#job-status", has_text="cancelled").wait_for(timeout=30_000)
    assert "cancelled by the user" in page.locator("#job-error").inner_text()
    assert page.get_by_role("button", name="Cancel solve").is_hidden()
    page.goto(stack.base_url + "/")
    page.locator("#history a", has_text="maze · cancelled").wait_for()


def test_type_a_sudoku_on_the_board_with_the_keyboard_then_undo(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    board = page.locator("#sudoku-editor")
    board.locator(".cell").first.click()

    page.keyboard.type("53")  # row 1: 5, 3
    page.keyboard.press("ArrowDown")  # row 2, column 3
    page.keyboard.type("5")  # the same digit in the same box: a conflict

    assert page.locator("#puzzle-text").input_value().splitlines()[:2] == ["53.......", "..5......"]
    assert board.locator(".cell.conflict").count() == 2
    assert page.locator("#sudoku-conflicts").is_visible()

    page.keyboard.press("Control+z")

    assert page.locator("#puzzle-text").input_value().splitlines()[1] == "........."
    assert board.locator(".cell.conflict").count() == 0
    page.get_by_role("button", name="Solve").click()  # two clues: refused before it is sent
    page.locator("#form-error", has_text="more than one solution").wait_for(timeout=10_000)


def test_draw_a_maze_with_the_mouse_then_solve_it(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="Maze").check()
    page.locator("#puzzle-text").fill(BLANK_10)
    board = page.locator("#maze-editor")
    assert page.locator("#maze-info").inner_text() == "Shortest path: 18 steps."

    drag_across(page, board, [(2, c) for c in range(0, 9)], 10)  # a wall with a gap on the right
    drag_across(page, board, [(5, c) for c in range(9, 0, -1)], 10)  # and one with a gap on the left
    rows = page.locator("#puzzle-text").input_value().split("\n")

    assert rows[2] == "######### " and rows[5] == " #########"
    assert page.locator("#maze-info").inner_text() == "Shortest path: 36 steps."

    board.focus()
    page.keyboard.press("Control+z")  # one drag, one undo step
    assert page.locator("#puzzle-text").input_value().split("\n")[5] == " " * 10

    drag_across(page, board, [(0, 0), (1, 0)], 10)  # move the start down a row
    assert page.locator("#puzzle-text").input_value().split("\n")[:2] == [" " * 10, "S" + " " * 9]

    page.get_by_role("button", name="Solve").click()
    page.wait_for_url("**/jobs/*/")
    page.locator("#job-status", has_text="done").wait_for(timeout=60_000)
    assert page.locator("#grid .cell").count() == 100
