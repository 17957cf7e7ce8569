"""The Sudoku and maze editors, share links, the gallery and the history's paging, in headless Chromium
against the real server, worker and Redis; and the playground's screenshots (desktop, phone, dark)."""

import json
from pathlib import Path

import pytest

from puzzles.gallery import starting_puzzles
from puzzles.models import SolveJob
from solver.datasets import maze, sudoku
from tests.browser import drag_across

pytestmark = pytest.mark.stack

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AMBIGUOUS = "........." + "9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BLANK_10 = "\n".join(["S" + " " * 9, *[" " * 10] * 8, " " * 9 + "G"])  # a blank 10x10 board, S and G in corners
EXTREME = next(card["puzzle"] for card in starting_puzzles()["gallery"] if card["title"] == "Extreme Sudoku")


def sudoku_text(page) -> str:
    return page.locator("#puzzle-text").input_value().replace("\n", "")


def maze_rows(page) -> list[str]:
    return page.locator("#puzzle-text").input_value().split("\n")


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def test_a_sudoku_typed_with_keys_is_refused_while_it_has_no_or_several_solutions(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    board = page.locator("#sudoku-editor")
    board.locator(".cell").nth(10).click()  # row 2, column 2

    page.keyboard.type("12")  # row 2: columns 2 and 3
    page.keyboard.press("ArrowUp")  # row 1, column 4 (typing moved the cursor on)
    page.keyboard.press("ArrowLeft")
    page.keyboard.type("3")  # row 1, column 3
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Backspace")  # clears row 3, column 4, already blank: nothing to undo
    page.keyboard.type("2")  # row 3, column 4

    assert page.locator("#puzzle-text").input_value().splitlines()[:3] == ["..3......", ".12......", "...2....."]
    page.get_by_role("button", name="Solve").click()
    page.locator("#form-error", has_text="more than one solution").wait_for(timeout=10_000)

    board.locator(".cell").nth(3).click()  # row 1, column 4: a second 3 in row 1
    page.keyboard.type("3")
    assert board.locator(".cell.conflict").count() == 2
    page.get_by_role("button", name="Solve").click()
    page.locator("#form-error", has_text="no solution").wait_for(timeout=10_000)

    # Pasted as one line: still ambiguous, refused, the board kept as it was.
    page.get_by_label("The puzzle as one line of 81 characters").fill(AMBIGUOUS)
    page.get_by_role("button", name="Import").click()
    assert sudoku_text(page) == AMBIGUOUS
    page.get_by_role("button", name="Solve").click()
    page.locator("#form-error", has_text="more than one solution").wait_for(timeout=10_000)
    assert sudoku_text(page) == AMBIGUOUS
    assert page.url.rstrip("/") == stack.base_url
    assert SolveJob.objects.count() == 0

    page.get_by_label("The puzzle as one line of 81 characters").fill("123")
    page.get_by_role("button", name="Import").click()
    assert "81 cells" in page.locator(".sudoku-info").inner_text()
    assert sudoku_text(page) == AMBIGUOUS


def test_a_random_hard_sudoku_loads_solves_and_its_steps_scrub_back(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    page.get_by_label("Difficulty").select_option("hard")
    page.get_by_role("button", name="Random puzzle").click()
    page.locator(".sudoku-info", has_text="guess").wait_for(timeout=20_000)

    grid = sudoku_text(page)
    result = sudoku.solve([int(ch) if ch.isdigit() else 0 for ch in grid], limit=2)
    assert len(result.solutions) == 1 and 4 <= result.guesses <= 10
    assert f"needs {result.guesses} guesses" in page.locator(".sudoku-info").inner_text()
    shown = page.locator("#sudoku-editor .cell").evaluate_all("cells => cells.map((c) => c.textContent || '.').join('')")
    assert shown == grid

    page.get_by_role("button", name="Export").click()
    assert page.get_by_label("The puzzle as one line of 81 characters").input_value() == grid

    page.locator("#steps").fill("4")
    page.get_by_role("button", name="Solve").click()
    page.wait_for_url("**/jobs/*/")
    page.locator("#job-status", has_text="done").wait_for(timeout=60_000)
    page.locator("#step-number", has_text="4").wait_for(timeout=10_000)
    assert page.locator("#scrubber").get_attribute("max") == "4"
    assert len(page.locator("#timings-body tr").all()) == 4

    page.locator("#scrubber").fill("1")
    assert page.locator("#step-number").inner_text() == "1"
    page.keyboard.press("ArrowRight")
    assert page.locator("#step-number").inner_text() == "2"
    job = SolveJob.objects.get()
    assert job.puzzle.data["grid"] == [[int(ch) if ch.isdigit() else 0 for ch in grid[r * 9:r * 9 + 9]] for r in range(9)]


def test_a_maze_drawn_with_the_mouse_is_solved(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="Maze").check()
    page.locator("#maze-width").fill("8")
    page.locator("#maze-width").press("Tab")
    page.locator("#maze-height").fill("6")
    page.locator("#maze-height").press("Tab")
    board = page.locator("#maze-editor")
    assert board.locator(".cell").count() == 48

    drag_across(page, board, [(2, c) for c in range(0, 7)], 8)  # a wall with a gap at the right
    drag_across(page, board, [(2, 3), (2, 4)], 8)  # starting on a wall erases: a door in it
    drag_across(page, board, [(0, 0), (0, 1), (1, 1)], 8)  # drag S
    drag_across(page, board, [(5, 7), (5, 6), (4, 6)], 8)  # drag G

    rows = maze_rows(page)
    assert rows == [" " * 8, " S      ", "###  ## ", " " * 8, "      G ", " " * 8]
    assert page.locator("#maze-info").inner_text() == "Shortest path: 8 steps."

    page.get_by_role("button", name="Solve").click()
    page.wait_for_url("**/jobs/*/")
    page.locator("#job-status", has_text="done").wait_for(timeout=60_000)
    assert page.locator("#grid .cell").count() == 48
    assert SolveJob.objects.get().puzzle.data["grid"] == rows


def test_a_random_maze_is_hard_for_its_size_and_goes_out_and_back_as_a_file(stack, active_checkpoints, page, tmp_path):
    page.goto(stack.base_url + "/")
    page.get_by_role("radio", name="Maze").check()
    page.locator("#maze-width").fill("30")
    page.get_by_role("button", name="Random maze").click()
    page.locator(".maze-note", has_text="random 30×30").wait_for(timeout=20_000)

    rows = maze_rows(page)
    assert len(rows) == 30 and all(len(row) == 30 for row in rows)
    start = next((r, row.index("S")) for r, row in enumerate(rows) if "S" in row)
    goal = next((r, row.index("G")) for r, row in enumerate(rows) if "G" in row)
    length = maze.distances(rows, start)[goal]
    assert length > 110
    assert page.locator("#maze-info").inner_text() == f"Shortest path: {length} steps."

    with page.expect_download() as download:
        page.get_by_role("button", name="Export .txt").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "maze-30x30.txt"
    assert saved.read_text() == "\n".join(rows) + "\n"

    page.locator("#maze-tools input[type=file]").set_input_files(
        files=[{"name": "mine.txt", "mimeType": "text/plain", "buffer": b"S #\n  #\n# G\n"}])
    page.locator(".maze-note", has_text="Imported mine.txt").wait_for()
    assert maze_rows(page) == ["S #", "  #", "# G"]
    assert page.locator("#maze-info").inner_text() == "Shortest path: 4 steps."
    page.locator("#maze-tools input[type=file]").set_input_files(
        files=[{"name": "bad.txt", "mimeType": "text/plain", "buffer": b"S #\n  \n"}])
    page.locator(".maze-note", has_text="bad.txt is not a maze").wait_for()
    assert maze_rows(page) == ["S #", "  #", "# G"]


def share_link(page) -> str:
    page.get_by_role("button", name="Share").click()
    page.locator("#share-note", has_text="Link copied").wait_for()
    link = page.locator("#share-link").input_value()
    assert page.evaluate("navigator.clipboard.readText()") == link
    return link


def test_share_links_reopen_the_same_sudoku_maze_and_arc_task(stack, active_checkpoints, browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base_url)
    page = context.new_page()
    page.goto(stack.base_url + "/")
    page.locator("#sudoku-editor .cell").first.click()
    page.keyboard.type("9")
    sudoku_grid = sudoku_text(page)
    sudoku_link = share_link(page)
    assert sudoku_link == f"{stack.base_url}/#sudoku={sudoku_grid}"
    # Editing after sharing: the box says its link is of the old puzzle; sharing again makes a fresh one.
    page.locator("#sudoku-editor .cell").nth(1).click()
    page.keyboard.type("8")
    page.locator("#share-note", has_text="changed since this link was made").wait_for()
    assert "stale" in page.locator("#share-link").get_attribute("class")
    assert share_link(page) == f"{stack.base_url}/#sudoku={sudoku_text(page)}" != sudoku_link
    assert "stale" not in page.locator("#share-link").get_attribute("class")
    page.locator("#sudoku-editor .cell").nth(1).click()
    page.keyboard.press("Delete")
    page.locator("#share-note", has_text="changed since").wait_for()
    assert sudoku_text(page) == sudoku_grid
    assert share_link(page) == sudoku_link

    page.get_by_role("radio", name="Maze").check()
    page.locator("#puzzle-text").fill(BLANK_10)
    drag_across(page, page.locator("#maze-editor"), [(3, c) for c in range(2, 8)], 10)
    maze_text = page.locator("#puzzle-text").input_value()
    maze_link = share_link(page)
    assert maze_link.startswith(f"{stack.base_url}/#maze=") and " " not in maze_link

    page.get_by_role("radio", name="ARC").check()
    page.get_by_role("button", name="Example").click()
    page.wait_for_function("document.getElementById('puzzle-text').value.includes('\"task\"')")  # from the library
    arc_task = json.loads(page.locator("#puzzle-text").input_value())
    arc_link = share_link(page)
    assert arc_link.startswith(f"{stack.base_url}/#arc=")

    reader = browser.new_page()  # a fresh browser session: only the link carries the puzzle
    reader.goto(sudoku_link)
    assert reader.get_by_role("radio", name="Sudoku").is_checked()
    assert sudoku_text(reader) == sudoku_grid
    assert reader.locator("#sudoku-editor .cell").first.inner_text() == "9"

    reader.goto(maze_link)  # only the fragment changes: the open page follows it
    assert reader.get_by_role("radio", name="Maze").is_checked()
    assert reader.locator("#puzzle-text").input_value() == maze_text
    assert reader.locator("#maze-info").inner_text() == "Shortest path: 18 steps."

    reader.goto(stack.base_url + "/")
    reader.goto(arc_link)
    assert reader.get_by_role("radio", name="ARC").is_checked()
    assert json.loads(reader.locator("#puzzle-text").input_value()) == arc_task

    reader.goto(stack.base_url + "/#maze=bm90IGEgbWF6ZQ")  # "not a maze"
    assert "could not be opened" in reader.locator("#form-error").inner_text()
    reader.close()
    context.close()


def test_gallery_items_load_into_their_editors(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    gallery = page.get_by_role("list", name="Example puzzles")
    gallery.get_by_role("button", name="Extreme Sudoku").click()
    assert sudoku_text(page) == EXTREME
    assert page.locator("#sudoku-editor .cell").nth(1).inner_text() == EXTREME[1]

    gallery.get_by_role("button", name="Maze 10×10").click()
    assert page.get_by_role("radio", name="Maze").is_checked()
    assert page.locator("#maze-info").inner_text() == "Shortest path: 28 steps."
    assert page.locator("#maze-editor .cell").count() == 100

    arc = gallery.get_by_role("button", name="ARC b1948b0a")
    arc.locator(".thumb .cell").first.wait_for()  # drawn once the task library answered
    arc.click()
    assert page.get_by_role("radio", name="ARC").is_checked()
    assert json.loads(page.locator("#puzzle-text").input_value())["task"] == "b1948b0a"
    page.locator(".arc-task-name", has_text="b1948b0a").wait_for()

    gallery.get_by_role("button", name="Easy Sudoku").click()
    page.get_by_role("button", name="Solve").click()
    page.wait_for_url("**/jobs/*/")


def test_the_history_shows_more_solves_page_by_page(stack, active_checkpoints, page):
    page.goto(stack.base_url + "/")
    codes = page.evaluate("""async () => {
        const token = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
        const codes = [];
        for (let i = 0; i < 12; i += 1) {
            const response = await fetch("/api/v1/jobs/", {method: "POST",
                headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                body: JSON.stringify({kind: "maze", puzzle: {grid: ["S #", "  G"]}, steps: 1})});
            codes.push(response.status);
        }
        return codes;
    }""")
    assert codes == [202] * 12
    page.reload()
    page.locator("#history li a").first.wait_for()
    assert page.locator("#history li").count() == 10
    more = page.get_by_role("button", name="Show more")

    more.click()

    page.wait_for_function("document.querySelectorAll('#history li').length === 12")
    assert more.is_hidden()
    assert len(set(page.locator("#history a").evaluate_all("links => links.map((a) => a.href)"))) == 12


@pytest.mark.parametrize(("name", "width", "dark"), [
    ("playground-desktop.png", 1280, False), ("playground-phone.png", 390, False),
    ("playground-phone-dark.png", 390, True), ("playground-desktop-dark.png", 1280, True),
])
def test_screenshots_of_the_playground_fit_the_screen(stack, active_checkpoints, browser, name, width, dark):
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1,
                                  is_mobile=width < 500, has_touch=width < 500)
    page = context.new_page()
    if dark:
        page.emulate_media(color_scheme="dark")
    page.goto(stack.base_url + "/")
    page.locator("#gallery .thumb").nth(7).wait_for()  # every thumbnail drawn
    page.get_by_role("list", name="Example puzzles").get_by_role("button", name="Hard Sudoku").click()
    page.locator("#sudoku-editor .cell").nth(21).click()

    # Nothing sticks out sideways: the page never scrolls horizontally.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    board = page.locator("#sudoku-editor").bounding_box()
    assert board["x"] >= 0 and board["x"] + board["width"] <= width
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(21, 22, 27)") == dark
    screenshot(page, name)

    page.get_by_role("radio", name="Maze").check()
    page.get_by_role("list", name="Example puzzles").get_by_role("button", name="Maze 20×20").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    maze_board = page.locator("#maze-editor").bounding_box()
    assert maze_board["x"] + maze_board["width"] <= width
    screenshot(page, name.replace("playground-", "playground-maze-"))
    context.close()


def test_on_a_phone_the_digit_pad_fills_cells_and_a_finger_paints_maze_walls(stack, active_checkpoints, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(stack.base_url + "/")
    page.locator("#sudoku-editor .cell").nth(40).tap()
    page.get_by_role("button", name="Enter 7").tap()
    assert sudoku_text(page)[40] == "7"
    page.get_by_role("button", name="Clear the cell").tap()  # the cursor moved on to the next cell
    page.locator("#sudoku-editor .cell").nth(40).tap()
    page.get_by_role("button", name="Clear the cell").tap()
    assert sudoku_text(page) == "." * 81

    page.get_by_role("radio", name="Maze").tap()
    page.locator("#puzzle-text").fill(BLANK_10)
    board = page.locator("#maze-editor")
    cells = [board.locator(".cell").nth(4 * 10 + c) for c in range(1, 9)]
    cells[0].scroll_into_view_if_needed()
    points = []
    for each in cells:
        box = each.bounding_box()
        points.append({"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2})
    cdp = context.new_cdp_session(page)
    events = [("touchStart", [points[0]])] + [("touchMove", [point]) for point in points[1:]] + [("touchEnd", [])]
    for kind, touch_points in events:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})
    cdp.detach()

    assert maze_rows(page)[4] == " ######## "
    assert page.evaluate("window.scrollX") == 0
    context.close()
