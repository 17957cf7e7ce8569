"""The job page and the compare page in headless Chromium, against the real server, worker and Redis.

The checkpoints are untrained, so answers are noise; what is checked is that the page shows what the API
says (one chart point per step, the verdict of the step on screen, the confidence of each cell) and that
its controls work. Screenshots go to tests/artifacts/ (and are copied to docs/screenshots/ by hand).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts"
PUZZLE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
SOLUTION = "483921657967345821251876493548132976729564138136798245372689514814253769695417382"
STEPS = 6
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def other_sudoku_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("other") / "other-sudoku.safetensors"
    subprocess.run(
        [sys.executable, "-m", "solver", "init", "--kind", "sudoku", "--output", str(path),
         "--hidden-size", "32", "--num-heads", "2", "--H-cycles", "2", "--L-cycles", "2", "--seed", "7"],
        check=True, cwd=PROJECT_DIR,
    )
    return path


@pytest.fixture
def other_sudoku_checkpoint(active_checkpoints, other_sudoku_file):
    """A second (inactive) Sudoku checkpoint with other random weights, to compare against."""
    from puzzles.services.checkpoints import checkpoint_register

    return checkpoint_register(path=other_sudoku_file, name="tiny-sudoku-other")


def solved_job(stack, kind: str, puzzle: dict, steps: int = STEPS) -> tuple[dict, list[dict]]:
    """Submit a job through the API and wait until it is done; (job, steps) as the API gives them."""
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": kind, "puzzle": puzzle, "steps": steps})
    assert status == 202, job

    def done():
        return stack.request("GET", job["url"])[1]["status"] in ("done", "failed", "cancelled")

    stack.wait_until(done, timeout=60, message="the job to finish")
    status, job = stack.request("GET", job["url"])
    assert job["status"] == "done", job
    return job, stack.request("GET", f"{job['url']}steps/")[1]


def agreeing(grid: list[list[int]]) -> int:
    return sum(grid[r][c] == int(SOLUTION[r * 9 + c]) for r in range(9) for c in range(9))


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=True)


def cell_backgrounds(page) -> list[str]:
    return page.eval_on_selector_all("#grid .cell", "cells => cells.map(c => getComputedStyle(c).backgroundColor)")


def open_finished(page, url: str, steps: int = STEPS) -> None:
    page.goto(url)
    page.locator("#job-status", has_text="done").wait_for(timeout=30_000)
    page.locator("#step-number", has_text=str(steps)).wait_for(timeout=30_000)


def test_a_sudoku_solve_charts_judges_and_plays_every_step(stack, active_checkpoints, page):
    job, steps = solved_job(stack, "sudoku", {"grid": PUZZLE})
    assert job["puzzle"]["grid"][0] == [0, 0, 3, 0, 2, 0, 6, 0, 0]  # the job resource carries its puzzle
    url = f"{stack.base_url}/jobs/{job['id']}/"

    open_finished(page, url)

    # One chart point per step, the last one current; the caption names the first halting step, if any.
    assert page.locator("#halting-chart circle.point").count() == STEPS
    assert page.locator("#halting-chart circle.point.current").get_attribute("data-step") == str(STEPS)
    halting = next((step["step"] for step in steps if step["q_halt_logit"] > 0), None)
    note = page.locator("#halting-note").inner_text()
    if halting is None:
        assert "stayed at or below 0.5 in all 6 steps" in note
        assert page.locator("#halting-chart .halt-mark").count() == 0
    else:
        assert f"would have stopped at step {halting} of {STEPS}" in note
        assert page.locator("#halting-chart circle.point.halting").get_attribute("data-step") == str(halting)
    assert page.locator("#timings-body tr").count() == STEPS
    assert re.fullmatch(r"\d+ ms|\d+\.\d\d s", page.locator("#total-seconds").inner_text())

    # The verdict of the step on screen, against the puzzle's unique solution.
    verdict = page.locator("#verdict").inner_text()
    assert f"{agreeing(steps[-1]['grid'])}/81 cells agree with the unique solution" in verdict
    assert verdict.startswith("Solved" if agreeing(steps[-1]["grid"]) == 81 else "Not solved")
    shot(page, "job-desktop.png")

    # Confidence heatmap: every cell coloured by the confidence the API reports for it.
    answer_colours = cell_backgrounds(page)
    page.keyboard.press("h")
    assert page.locator("#view-confidence").get_attribute("aria-pressed") == "true"
    assert page.locator("#confidence-legend").is_visible()
    heat = cell_backgrounds(page)
    assert heat != answer_colours
    expected = page.evaluate("(rows) => rows.flat().map(confidenceColour)", steps[-1]["confidence"])
    assert heat == expected
    shot(page, "job-heatmap.png")
    page.get_by_role("button", name="Answer").click()
    assert cell_backgrounds(page) == answer_colours
    assert page.locator("#confidence-legend").is_hidden()

    # Speed: + and - step through 0.5×, 1×, 2×, 4× and stop at the ends.
    speed = page.locator("#speed")
    assert speed.input_value() == "1"
    for key, value in [("+", "2"), ("+", "4"), ("+", "4"), ("-", "2"), ("-", "1"), ("-", "0.5"), ("-", "0.5")]:
        page.keyboard.press(key)
        assert speed.input_value() == value
    speed.select_option("4")
    page.keyboard.press("ArrowLeft")  # focus back on the page, playback paused at step 5
    assert page.locator("#step-number").inner_text() == str(STEPS - 1)
    assert page.locator("#play-button").inner_text() == "Play"
    page.get_by_role("button", name="Play").click()
    page.locator("#step-number", has_text=str(STEPS)).wait_for()
    page.keyboard.press(" ")  # on the focused play button: one toggle, not a key press and a click
    assert page.locator("#play-button").inner_text() == "Play"

    # Scrub back: the board, the verdict, the chart and the timings follow.
    page.locator("#scrubber").fill("2")
    assert page.locator("#step-number").inner_text() == "2"
    assert page.locator("#play-button").inner_text() == "Play"
    assert f"{agreeing(steps[1]['grid'])}/81 cells agree" in page.locator("#verdict").inner_text()
    shown = page.eval_on_selector_all("#grid .cell", "cells => cells.map(c => c.textContent)")
    assert shown == [str(v) if v else "" for row in steps[1]["grid"] for v in row]
    assert page.locator("#halting-chart circle.point.current").get_attribute("data-step") == "2"
    assert page.locator("#timings-body tr.current td").first.text_content() == "2"

    page.locator("#halting-chart circle.point[data-step='4']").click()
    assert page.locator("#step-number").inner_text() == "4"
    assert page.locator("#halt-prob").inner_text() == f"{steps[3]['halt_prob']:.3f}"


def test_the_steps_show_cells_right_beside_the_halting_chart_and_copy_as_csv(stack, active_checkpoints, browser):
    job, steps = solved_job(stack, "sudoku", {"grid": PUZZLE})
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base_url)
    page = context.new_page()
    try:
        open_finished(page, f"{stack.base_url}/jobs/{job['id']}/")

        # One dashed point per step at its share of cells right, on the halting chart's 0-1 scale.
        shares = page.eval_on_selector_all("#halting-chart circle.right-point", "points => points.map((p) => Number(p.getAttribute('cy')))")
        assert len(shares) == STEPS
        expected_y = page.evaluate("(rights) => rights.map((r) => new HaltingChart(null, {maxSteps: 6}).y(r / 81))",
                                   [agreeing(step["grid"]) for step in steps])
        assert shares == pytest.approx(expected_y)
        assert f"cells right at each step ({agreeing(steps[-1]['grid'])} of 81 at the last)" in page.locator("#halting-note").inner_text()

        page.locator("details.timings summary").click()
        assert page.locator("#right-heading").inner_text() == "Cells right"
        column = page.eval_on_selector_all("#timings-body tr", "rows => rows.map((row) => row.cells[2].textContent)")
        assert column == [f"{agreeing(step['grid'])}/81" for step in steps]

        page.get_by_role("button", name="Copy as CSV").click()
        page.locator("#csv-note", has_text=f"Copied {STEPS} steps").wait_for()
        lines = page.evaluate("navigator.clipboard.readText()").splitlines()
        assert lines[0] == "step,halt_prob,q_halt_logit,right,of,seconds"
        assert [(int(line.split(",")[0]), float(line.split(",")[1])) for line in lines[1:]] == [
            (step["step"], step["halt_prob"]) for step in steps]
        assert [int(line.split(",")[3]) for line in lines[1:]] == [agreeing(step["grid"]) for step in steps]
    finally:
        context.close()


def test_the_job_page_on_a_phone_and_in_the_dark(stack, active_checkpoints, browser):
    job, _steps = solved_job(stack, "sudoku", {"grid": PUZZLE})
    url = f"{stack.base_url}/jobs/{job['id']}/"
    for name, options in [("job-phone.png", {"viewport": PHONE}), ("job-dark.png", {"viewport": {"width": 1100, "height": 800}})]:
        context = browser.new_context(**options)
        page = context.new_page()
        if name == "job-dark.png":
            page.emulate_media(color_scheme="dark")
        open_finished(page, url)
        page.locator("details.timings summary").click()
        # Nothing sticks out sideways: the page is no wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"]
        shot(page, name)
        context.close()


@pytest.mark.parametrize(("kind", "puzzle", "verdict"), [
    ("maze", {"grid": ["#########", "#S  #   #", "# # # # #", "# #   # #", "# ##### #", "#      G#", "#########"]},
     r"Not a path: .+ \(shortest 10\)\.|Valid but longer: \d+ steps, shortest 10\.|Valid shortest path: 10 steps\."),
    ("arc", {"train": [{"input": [[1, 0], [0, 0]], "output": [[1, 1], [1, 1]]}],
             "test": [{"input": [[0, 2], [0, 0]], "output": [[2, 2], [2, 2]]}]},
     r"Exact match\.|Wrong size \(\d+×\d+, expected 2×2\)\.|\d cells? differs?\."),
])
def test_maze_and_arc_solves_show_a_verdict(stack, active_checkpoints, page, kind, puzzle, verdict):
    job, _steps = solved_job(stack, kind, puzzle)
    open_finished(page, f"{stack.base_url}/jobs/{job['id']}/")
    assert re.fullmatch(verdict, page.locator("#verdict").inner_text())
    shot(page, f"job-{kind}.png")


def test_an_arc_task_sent_by_name_without_its_outputs_is_judged_against_the_library(stack, active_checkpoints, page):
    from puzzles.services import arc_library as library

    task = library.arc_task_get(dataset="arc-agi-1", name=library.arc_task_list(dataset="arc-agi-1", split="training")[0].name)
    inputs = [pair["input"] for pair in task.test]
    edited = [[[(inputs[0][0][0] + 1) % 10, *inputs[0][0][1:]], *inputs[0][1:]], *inputs[1:]]
    judged = re.compile(r"(Test 1: )?(Wrong size|\d+ cells? differs?|Exact match)", re.IGNORECASE)
    for test_inputs, verdict in [(inputs, judged), (edited, re.compile(r"No known test output to check against\."))]:
        puzzle = {"train": task.train, "test": [{"input": grid} for grid in test_inputs], "task": task.name}
        job, _steps = solved_job(stack, "arc", puzzle, steps=2)
        open_finished(page, f"{stack.base_url}/jobs/{job['id']}/", steps=2)
        page.wait_for_load_state("networkidle")  # the library lookup has answered
        assert verdict.match(page.locator("#verdict").inner_text())


def test_solve_again_with_another_checkpoint_and_scrub_both_together(stack, other_sudoku_checkpoint, page, browser):
    job, steps_a = solved_job(stack, "sudoku", {"grid": PUZZLE})
    open_finished(page, f"{stack.base_url}/jobs/{job['id']}/")
    choice = page.locator("#again-checkpoint")
    assert choice.locator("option").all_inner_texts() == ["tiny-sudoku-other · untrained"]
    shot(page, "job-solve-again.png")

    page.get_by_role("button", name="Solve and compare").click()

    page.wait_for_url(re.compile(r".*/compare/\?a=[0-9a-f-]+&b=[0-9a-f-]+$"))
    other_id = page.url.rsplit("b=", 1)[1]
    status, other = stack.request("GET", f"/api/v1/jobs/{other_id}/")
    assert (other["checkpoint"], other["puzzle"], other["steps_requested"]) == ("tiny-sudoku-other", job["puzzle"], STEPS)
    panels = page.locator(".panel")
    for i in range(2):
        panels.nth(i).locator(".panel-status", has_text="done").wait_for(timeout=60_000)
    page.locator("#step-number", has_text=str(STEPS)).wait_for()
    steps_b = stack.request("GET", f"/api/v1/jobs/{other_id}/steps/")[1]
    shot(page, "compare-desktop.png")

    page.locator("#scrubber").fill("3")

    for panel, steps in zip([panels.nth(0), panels.nth(1)], [steps_a, steps_b], strict=True):
        assert panel.locator(".panel-step").inner_text() == "3"
        shown = panel.locator(".panel-grid .cell").evaluate_all("cells => cells.map(c => c.textContent)")
        assert shown == [str(v) if v else "" for row in steps[2]["grid"] for v in row]
        assert f"{agreeing(steps[2]['grid'])}/81 cells agree" in panel.locator(".panel-verdict").inner_text()
        assert panel.locator(".panel-halt").inner_text() == f"{steps[2]['halt_prob']:.3f}"
    page.keyboard.press("ArrowRight")
    assert panels.nth(0).locator(".panel-step").inner_text() == panels.nth(1).locator(".panel-step").inner_text() == "4"

    for name, options in [("compare-phone.png", {"viewport": PHONE}), ("compare-dark.png", {"viewport": {"width": 1100, "height": 800}})]:
        context = browser.new_context(**options)
        other_page = context.new_page()
        if name == "compare-dark.png":
            other_page.emulate_media(color_scheme="dark")
        other_page.goto(page.url)
        other_page.locator("#step-number", has_text=str(STEPS)).wait_for(timeout=30_000)
        assert other_page.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"]
        shot(other_page, name)
        context.close()


def test_the_compare_page_needs_two_job_ids(stack, page):
    assert page.goto(f"{stack.base_url}/compare/?a=1").status == 400
    missing = "00000000-0000-4000-8000-000000000000"
    assert page.goto(f"{stack.base_url}/compare/?a={missing}&b={missing}").status == 404


def test_the_halting_chart_marks_the_first_step_past_one_half_and_selects_a_clicked_step(page):
    # The demo checkpoints never pass 0.5, so the chart is drawn here from steps made up for it.
    page.set_content("<!doctype html><main><div id=chart></div><p id=note></p></main>")
    page.add_style_tag(path=str(PROJECT_DIR / "static" / "css" / "app.css"))
    page.add_script_tag(path=str(PROJECT_DIR / "static" / "js" / "halting-chart.js"))
    probabilities = [0.1, 0.3, 0.45, 0.62, 0.4, 0.9]
    steps = [{"step": i + 1, "halt_prob": p, "q_halt_logit": 1 if p > 0.5 else -1, "seconds": 0.25 * (i + 1)}
             for i, p in enumerate(probabilities)]
    page.evaluate("""(steps) => {
        window.picked = [];
        const chart = new HaltingChart(document.getElementById("chart"), {maxSteps: 8, onSelect: (i) => window.picked.push(i)});
        chart.draw(steps, 2);
        document.getElementById("note").textContent = haltingSummary(steps, false, 8);
    }""", steps)

    shot(page, "halting-chart.png")
    assert page.locator("circle.point").count() == 6
    assert page.locator("circle.point.halting").get_attribute("data-step") == "4"
    assert page.locator("circle.point.current").get_attribute("data-step") == "2"
    assert page.locator("text.halt-label").text_content() == "stops here"
    assert page.locator("#note").inner_text() == "The model would have stopped at step 4 of 8 (halting probability 0.62)."
    assert page.locator("circle.point[data-step='6'] title").text_content() == "Step 6: halting probability 0.900, 1.50 s"
    page.locator("circle.point[data-step='5']").click()
    page.locator("circle.point[data-step='3']").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("window.picked") == [5, 3]
    assert page.evaluate("haltingSummary([], false, 8)") == "No step yet."
    assert page.evaluate("(s) => haltingSummary(s, true, 8)", [steps[0]]) == (
        "The halting probability stayed at or below 0.5 in its only step: the model would not have stopped.")


def test_a_job_still_in_the_queue_is_shown_waiting_until_its_first_step(stack, active_checkpoints, page):
    from django.utils import timezone

    from puzzles.models import Puzzle, SolveJob
    from puzzles.services.puzzle_input import parse_puzzle

    # Never enqueued, so no worker takes it: the page's stream opens and stays quiet.
    puzzle = Puzzle.objects.create(kind="sudoku", data=parse_puzzle("sudoku", {"grid": PUZZLE}).data)
    job = SolveJob.objects.create(puzzle=puzzle, checkpoint=active_checkpoints["sudoku"], steps_requested=STEPS,
                                  owner_key="session:test", enqueued_at=timezone.now())
    page.goto(f"{stack.base_url}/jobs/{job.id}/")
    page.locator("#job-status", has_text="queued, waiting for a worker").wait_for(timeout=15_000)

    done, _ = solved_job(stack, "sudoku", {"grid": PUZZLE})  # a job that ran: its steps say so, then its status
    page.goto(f"{stack.base_url}/jobs/{done['id']}/")
    page.locator("#job-status", has_text="done").wait_for(timeout=15_000)


def test_a_job_with_samples_and_views_shows_every_trajectory(stack, active_checkpoints, page):
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": PUZZLE}, "steps": 3,
                                                         "samples": 2, "views": 2, "seed": 4})
    assert status == 202, job
    stack.wait_until(lambda: stack.request("GET", job["url"])[1]["status"] == "done", timeout=60, message="the job")
    steps = stack.request("GET", f"{job['url']}steps/")[1]
    open_finished(page, stack.base_url + f"/jobs/{job['id']}/", steps=3)
    boards = page.locator("#trajectories li")
    assert boards.count() == 4
    chosen = page.locator("#trajectories li.chosen")
    assert chosen.count() == 1 and boards.nth(steps[-1]["chosen"]).evaluate("li => li.classList.contains('chosen')")
    assert "chosen" in chosen.get_attribute("class") and "p " in chosen.inner_text()
    note = page.locator("#trajectories-note").inner_text()
    assert f"{steps[-1]['agreeing']} of 4 give the same answer" in note
    # the small boards are the trajectories' own answers, cell for cell
    first = steps[-1]["trajectories"][0]["grid"]
    digits = boards.nth(0).locator(".cell").all_inner_texts()
    assert digits == [str(v) if v else "" for row in first for v in row]
    shot(page, "job-trajectories.png")
    page.keyboard.press("ArrowLeft")  # the small multiples follow the step on screen
    page.locator("#step-number", has_text="2").wait_for(timeout=5_000)
    assert page.locator("#trajectories-note").inner_text() != "" and boards.count() == 4


def test_a_job_without_samples_shows_no_trajectories(stack, active_checkpoints, page):
    job, _ = solved_job(stack, "sudoku", {"grid": PUZZLE}, steps=2)
    open_finished(page, stack.base_url + f"/jobs/{job['id']}/", steps=2)
    assert page.locator("figure.trajectories").is_hidden()
