"""What people expect of the job page beyond the solve itself, in headless Chromium against the real
server, worker and Redis: a title that says how the job stands (so a background tab tells when it is done),
a queued job's place in line, S and G as letters on maze boards, one spoken summary of the board instead of
every cell, and no playback for someone whose system asks for reduced motion."""

import re

import pytest
from django.utils import timezone

from tests.test_browser_job_page import PUZZLE, STEPS, open_finished, shot, solved_job

pytestmark = pytest.mark.stack

MAZE = ["#########", "#S  #   #", "# # # # #", "# #   # #", "# ##### #", "#      G#", "#########"]
SLOW_MAZE_STEPS = 8


def waiting_job(checkpoint):
    """A Sudoku job row that no worker will take (never sent to the queue), as if it waited behind others."""
    from puzzles.models import Puzzle, SolveJob
    from puzzles.services.puzzle_input import parse_puzzle

    puzzle = Puzzle.objects.create(kind="sudoku", data=parse_puzzle("sudoku", {"grid": PUZZLE}).data)
    # enqueued_at now: the workers' sweep leaves it alone, as it would a job whose message is on its way.
    return SolveJob.objects.create(puzzle=puzzle, checkpoint=checkpoint, steps_requested=STEPS, owner_key="session:test",
                                   enqueued_at=timezone.now())


def wait_for_title(page, pattern: str, timeout: float = 30_000) -> None:
    page.wait_for_function("(pattern) => new RegExp(pattern).test(document.title)", arg=pattern, timeout=timeout)


def record_titles(page) -> None:
    page.evaluate("""() => {
        window.titles = [document.title];
        new MutationObserver(() => window.titles.push(document.title))
            .observe(document.querySelector("title"), {childList: true, characterData: true, subtree: true});
    }""")


def test_a_queued_job_shows_its_place_in_line_and_a_real_job_its_progress_in_the_title(
        stack, active_checkpoints, slow_maze_checkpoint, page):
    from puzzles.models import SolveJob

    ahead, behind = waiting_job(active_checkpoints["sudoku"]), waiting_job(active_checkpoints["sudoku"])
    page.goto(f"{stack.base_url}/jobs/{behind.id}/")
    page.locator("#queue-place", has_text="(2nd in line)").wait_for(timeout=15_000)
    wait_for_title(page, r"^Queued \(2nd in line\) · Sudoku · TRM Playground$")
    assert re.fullmatch(r"Status: queued(, waiting for a worker)? \(2nd in line\)", page.locator("#job-status").locator("..").inner_text())
    shot(page, "job-queued.png")

    # The page polls the job resource while the job waits: the job ahead leaving moves it up.
    SolveJob.objects.filter(id=ahead.id).update(status=SolveJob.Status.CANCELLED)
    page.locator("#queue-place", has_text="(next in line)").wait_for(timeout=15_000)
    wait_for_title(page, r"^Queued \(next in line\) · Sudoku · TRM Playground$")
    SolveJob.objects.filter(id=behind.id).update(status=SolveJob.Status.CANCELLED)

    # A job a worker runs: "Running · step k/n" with k counting up, then "Done ✓", and no place in line.
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "maze", "puzzle": {"grid": MAZE}, "checkpoint": "slow-maze",
                                                          "steps": SLOW_MAZE_STEPS})
    assert status == 202, job
    page.goto(f"{stack.base_url}/jobs/{job['id']}/")
    record_titles(page)
    wait_for_title(page, r"^Done ✓ · Maze · TRM Playground$", timeout=120_000)
    assert page.locator("#queue-place").is_hidden()
    running = [int(m[1]) for title in page.evaluate("window.titles")
               if (m := re.fullmatch(rf"Running · step (\d+)/{SLOW_MAZE_STEPS} · Maze · TRM Playground", title))]
    assert running, page.evaluate("window.titles")
    assert running == sorted(running) and running[-1] <= SLOW_MAZE_STEPS


def test_maze_boards_letter_their_start_and_goal(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="Maze").check()
    editor = page.locator("#maze-editor")
    for letter, colour_class in [("S", "start"), ("G", "goal")]:
        lettered = editor.locator(".cell", has_text=letter)
        assert lettered.count() == 1
        assert colour_class in lettered.get_attribute("class")
        # The letter fits its cell, even on a board of many columns.
        size = lettered.evaluate("cell => [parseFloat(getComputedStyle(cell).fontSize), cell.getBoundingClientRect().width]")
        assert 0 < size[0] <= size[1]
    shot(page, "maze-editor-letters.png")

    # On the job page the letters stand where the maze starts and ends, whatever the (untrained) model answered.
    job, _steps = solved_job(stack, "maze", {"grid": MAZE}, steps=2)
    open_finished(page, f"{stack.base_url}/jobs/{job['id']}/", steps=2)
    texts = page.eval_on_selector_all("#grid .cell", "cells => cells.map(c => c.textContent)")
    width = len(MAZE[0])
    assert {i: text for i, text in enumerate(texts) if text} == {1 * width + 1: "S", 5 * width + 7: "G"}
    shot(page, "job-maze-letters.png")


def conflicting_cells(grid: list[list[int]]) -> int:
    """Cells whose digit repeats in their row, column or box (what the page counts as breaking a rule)."""
    units = [[(r, c) for c in range(9)] for r in range(9)] + [[(r, c) for r in range(9)] for c in range(9)]
    units += [[(3 * (b // 3) + i // 3, 3 * (b % 3) + i % 3) for i in range(9)] for b in range(9)]
    bad = set()
    for unit in units:
        values = [grid[r][c] for r, c in unit]
        bad |= {cell for cell, value in zip(unit, values, strict=True) if value and values.count(value) > 1}
    return len(bad)


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def sudoku_summary(steps: list[dict], index: int, heatmap: bool = False) -> str:
    grid = steps[index - 1]["grid"]
    filled = sum(bool(v) for row in grid for v in row)
    broken = conflicting_cells(grid)
    parts = [f"{filled} of 81 cells filled", f"{plural(broken, 'cell breaks', 'cells break')} a rule" if broken else "no rule broken"]
    if index > 1:
        before = steps[index - 2]["grid"]
        changed = sum(grid[r][c] != before[r][c] for r in range(9) for c in range(9))
        parts.append(f"{plural(changed, 'cell', 'cells')} changed since step {index - 1}")
    if heatmap:
        unsure = sum(p < 0.5 for row in steps[index - 1]["confidence"] for p in row)
        parts.append(f"coloured by confidence, {plural(unsure, 'cell', 'cells')} below one half")
    return f"Step {index} of {STEPS}: {'; '.join(parts)}."


def test_screen_readers_get_one_summary_of_the_step_on_screen_not_every_cell(stack, active_checkpoints, page):
    job, steps = solved_job(stack, "sudoku", {"grid": PUZZLE})
    open_finished(page, f"{stack.base_url}/jobs/{job['id']}/")
    wait_for_title(page, r"^Done ✓ · Sudoku · TRM Playground$")

    grid = page.locator("#grid")
    assert grid.get_attribute("role") == "img" and grid.get_attribute("aria-label")
    assert page.locator("[aria-live] .cell").count() == 0
    summary = page.locator("#board-summary")
    assert summary.get_attribute("aria-live") == "polite"
    assert grid.get_attribute("aria-describedby") == "board-summary"
    assert summary.bounding_box()["width"] <= 1  # heard, not seen
    assert summary.text_content() == sudoku_summary(steps, STEPS)

    page.locator("#scrubber").fill("2")
    assert summary.text_content() == sudoku_summary(steps, 2)
    page.keyboard.press("h")
    assert summary.text_content() == sudoku_summary(steps, 2, heatmap=True)


def test_with_reduced_motion_the_page_shows_the_latest_step_without_playing(stack, active_checkpoints, browser):
    job, _steps = solved_job(stack, "sudoku", {"grid": PUZZLE})
    url = f"{stack.base_url}/jobs/{job['id']}/"
    context = browser.new_context(viewport={"width": 1100, "height": 800}, reduced_motion="no-preference")
    page = context.new_page()
    page.goto(url)
    assert page.locator("#play-button").inner_text() == "Pause"  # the usual page plays from step 1
    context.close()

    context = browser.new_context(viewport={"width": 1100, "height": 800}, reduced_motion="reduce")
    page = context.new_page()
    open_finished(page, url)
    assert page.locator("#play-button").inner_text() == "Play"
    page.wait_for_timeout(1000)  # longer than a step of playback: nothing moves on
    assert page.locator("#step-number").inner_text() == str(STEPS)

    # Playing is there for whoever asks for it.
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => document.getElementById('step-number').textContent === '2'", timeout=5_000)
    context.close()
