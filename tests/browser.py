"""Helpers the browser tests share (the page fixture itself is in tests/conftest.py)."""


def drag_across(page, board, cells: list[tuple[int, int]], width: int) -> None:
    """Press on the first cell of `board` (a grid `width` cells wide), move through the others, release."""
    def centre(r, c):
        box = board.locator(".cell").nth(r * width + c).bounding_box()
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.move(*centre(*cells[0]))
    page.mouse.down()
    for cell in cells[1:]:
        page.mouse.move(*centre(*cell), steps=3)
    page.mouse.up()
