"""Puzzles as people write them ⇄ token sequences as the reference dataset builders write them.

A `Grid` is the puzzle in its own symbols, in a form that goes straight into JSON:
- sudoku: 9 rows of 9 ints, 0 = blank;
- maze:   equal-length strings of '#' (wall), ' ' (open), 'S', 'G', and 'o' (path, in answers);
- arc:    rows of ints 0-9, at most 30x30.

Tokenisation (must match the checkpoints' training data exactly):
- sudoku: digit d -> d+1 (blank -> 1), PAD 0 unused; 81 positions, vocabulary 11.
- maze:   '#',' ','S','G','o' -> 1..5 on a 30x30 field, row-major; a smaller maze sits at the top-left of a
          field of walls. Vocabulary 6. A model may be trained on a smaller square field (its seq_len says
          which: 10x10 = 100): `codec_for("maze", seq_len)` gives that field's codec, which refuses larger
          mazes. Attention costs grow with the square of the field, so small mazes train far faster there.
          The field's rows are one sequence, so a maze as wide as its field has its last column next to
          the following row's first: keep a wall column beside it (train on mazes one narrower).
- arc:    colour c -> c+2 on a 30x30 canvas of PAD (0), grid at the top-left, EOS (1) along the row below it
          and the column right of it (not the corner). Vocabulary 12. As with mazes, a model may be trained
          on a smaller square canvas (13x13 = 169 positions: grids up to 13x13, `codec_for("arc", 169)`),
          which refuses larger grids; the reference's checkpoints keep 30x30.

Every invalid input raises `PuzzleError` saying what is wrong, where, and what is allowed.
"""

from __future__ import annotations

import json
import math
from typing import Any, Union, cast

import numpy as np

Grid = Union[list[list[int]], list[str]]

CANVAS = 30  # maze and ARC fields are 30x30
MIN_MAZE_FIELD = 3  # the smallest maze with a start, a goal and a cell between them

MAZE_SYMBOLS = "# SGo"  # token id = index + 1
MAZE_INPUT_SYMBOLS = "# SG"
ARC_PAD, ARC_EOS, ARC_COLOUR0 = 0, 1, 2


class PuzzleError(ValueError):
    """A puzzle that cannot be encoded; the message says what and where, in words a user can act on."""


class Codec:
    """Grid ⇄ tokens for one puzzle kind."""

    kind: str
    seq_len: int
    vocab_size: int

    def parse_text(self, text: str) -> list[Grid]:
        """Puzzles from the command line's --input file format (several per file allowed)."""
        raise NotImplementedError

    def from_json(self, obj: Any) -> Grid:
        """One puzzle grid from its REST API JSON form, validated and in canonical form."""
        raise NotImplementedError

    def encode(self, grid: Grid) -> np.ndarray:
        """Tokens, int32 of shape (seq_len,)."""
        raise NotImplementedError

    def decode(self, tokens: Any, like: Grid | None = None) -> Grid:
        """Grid from tokens; `like` is the input grid, for kinds whose answer has the input's size."""
        raise NotImplementedError

    def encode_batch(self, grids: list[Grid]) -> np.ndarray:
        """Tokens of several puzzles, int32 [B, seq_len]."""
        return np.stack([self.encode(g) for g in grids]) if grids else np.zeros((0, self.seq_len), np.int32)

    def _tokens(self, tokens: Any) -> np.ndarray:
        arr = np.asarray(tokens).reshape(-1)
        if arr.shape[0] != self.seq_len:
            raise PuzzleError(f"{self.kind} answer must have {self.seq_len} tokens, got {arr.shape[0]}")
        return arr.astype(np.int64)


def _int_cell(value: Any, where: str, lo: int, hi: int) -> int:
    """A grid cell that must be an int in [lo, hi] (bools and floats are not accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise PuzzleError(f"{where}: {value!r} is not an integer; use {lo}-{hi}")
    if not lo <= int(value) <= hi:
        raise PuzzleError(f"{where}: {value} is out of range; use {lo}-{hi}")
    return int(value)


class SudokuCodec(Codec):
    kind = "sudoku"
    seq_len = 81
    vocab_size = 11

    def parse_text(self, text: str) -> list[Grid]:
        """One puzzle: 81 symbols, line breaks anywhere. Several: one puzzle of 81 symbols per line."""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise PuzzleError("sudoku input is empty; give 81 characters of 1-9 with '.' or '0' for blanks")
        if len(lines) > 1 and all(len(ln) == 81 for ln in lines):
            return [self._from_string(ln, where=f"line {i + 1}: ") for i, ln in enumerate(lines)]
        return [self._from_string("".join(lines))]

    def _from_string(self, s: str, where: str = "") -> Grid:
        s = "".join(s.split())
        if len(s) != 81:
            raise PuzzleError(f"{where}sudoku needs 81 cells, got {len(s)}; "
                              "give 81 characters of 1-9 with '.' or '0' for blanks")
        grid = [[0] * 9 for _ in range(9)]
        for i, ch in enumerate(s):
            if ch == ".":
                continue
            if not ("0" <= ch <= "9"):
                raise PuzzleError(f"{where}row {i // 9 + 1}, column {i % 9 + 1}: symbol {ch!r} is not "
                                  "allowed; use 1-9, or '.' or '0' for a blank")
            grid[i // 9][i % 9] = int(ch)
        return grid

    def from_json(self, obj: Any) -> Grid:
        if isinstance(obj, str):
            return self._from_string(obj)
        if not isinstance(obj, list):
            raise PuzzleError("sudoku grid must be an 81-character string or a 9x9 list of integers 0-9")
        if len(obj) != 9:
            raise PuzzleError(f"sudoku grid must have 9 rows, got {len(obj)}")
        grid = []
        for r, row in enumerate(obj):
            if not isinstance(row, list) or len(row) != 9:
                got = f"{len(row)} cells" if isinstance(row, list) else type(row).__name__
                raise PuzzleError(f"row {r + 1}: a sudoku row must be a list of 9 integers 0-9, got {got}")
            grid.append([_int_cell(v, f"row {r + 1}, column {c + 1}", 0, 9) for c, v in enumerate(row)])
        return grid

    def encode(self, grid: Grid) -> np.ndarray:
        return (np.asarray(self.from_json(grid), dtype=np.int32).reshape(81) + 1).astype(np.int32)

    def decode(self, tokens: Any, like: Grid | None = None) -> Grid:
        # PAD (0) cannot be a digit; show it as a blank rather than inventing one.
        digits = np.clip(self._tokens(tokens) - 1, 0, 9).reshape(9, 9)
        return digits.tolist()


class MazeCodec(Codec):
    kind = "maze"
    vocab_size = len(MAZE_SYMBOLS) + 1

    def __init__(self, field: int = CANVAS):
        if not MIN_MAZE_FIELD <= field <= CANVAS:
            raise ValueError(f"maze field {field} is out of range; use {MIN_MAZE_FIELD}-{CANVAS}")
        self.field = field
        self.seq_len = field * field

    def parse_text(self, text: str) -> list[Grid]:
        """Rows of '#', ' ', 'S', 'G'; several mazes are separated by a blank line.

        Only line endings are stripped: a space is an open cell, so a row's trailing spaces matter.
        """
        blocks: list[list[str]] = [[]]
        for line in text.splitlines():
            line = line.rstrip("\r\n")
            # A line of spaces is a row of open cells when it is as wide as the maze it continues.
            if line.strip() == "" and (not blocks[-1] or len(line) != len(blocks[-1][0])):
                if blocks[-1]:
                    blocks.append([])
                continue
            blocks[-1].append(line)
        blocks = [b for b in blocks if b]
        if not blocks:
            raise PuzzleError("maze input is empty; give rows of '#' (wall), ' ' (open), 'S' (start), 'G' (goal)")
        return [self._validate(b, where=f"maze {i + 1}: " if len(blocks) > 1 else "")
                for i, b in enumerate(blocks)]

    def from_json(self, obj: Any) -> Grid:
        if not isinstance(obj, list) or not all(isinstance(row, str) for row in obj):
            raise PuzzleError("maze grid must be a list of row strings of '#', ' ', 'S', 'G'")
        return self._validate(obj)

    def _validate(self, rows: list[str], where: str = "", allowed: str = MAZE_INPUT_SYMBOLS) -> list[str]:
        if not rows:
            raise PuzzleError(f"{where}maze has no rows")
        if len(rows) > self.field:
            raise PuzzleError(f"{where}maze has {len(rows)} rows; at most {self.field} are allowed{self._whose()}")
        width = len(rows[0])
        if width == 0:
            raise PuzzleError(f"{where}row 1 is empty")
        if width > self.field:
            raise PuzzleError(f"{where}row 1 has {width} cells; at most {self.field} are allowed{self._whose()}")
        counts = {"S": 0, "G": 0}
        for r, row in enumerate(rows):
            if len(row) != width:
                raise PuzzleError(f"{where}row {r + 1} has {len(row)} cells but row 1 has {width}; "
                                  "all rows must have the same length")
            for c, ch in enumerate(row):
                if ch not in allowed:
                    names = "'#' (wall), ' ' (open), 'S' (start), 'G' (goal)" + (", 'o' (path)" if "o" in allowed else "")
                    raise PuzzleError(f"{where}row {r + 1}, column {c + 1}: symbol {ch!r} is not allowed; "
                                      f"use {names}")
                if ch in counts:
                    counts[ch] += 1
        for ch, name in (("S", "start"), ("G", "goal")):
            if counts[ch] != 1:
                raise PuzzleError(f"{where}maze must have exactly one '{ch}' ({name}), found {counts[ch]}")
        return list(rows)

    def _whose(self) -> str:
        return "" if self.field == CANVAS else f" by this model, whose field is {self.field}x{self.field}"

    def encode(self, grid: Grid) -> np.ndarray:
        rows = self._validate(cast(list[str], list(grid)), allowed=MAZE_SYMBOLS)
        field = np.full((self.field, self.field), MAZE_SYMBOLS.index("#") + 1, dtype=np.int32)
        for r, row in enumerate(rows):
            field[r, :len(row)] = [MAZE_SYMBOLS.index(ch) + 1 for ch in row]
        return field.reshape(-1)

    def decode(self, tokens: Any, like: Grid | None = None) -> Grid:
        """The maze's cells; cropped to the size of `like` (the input maze) when given."""
        field = self._tokens(tokens).reshape(self.field, self.field)
        nrows, ncols = (len(like), len(like[0])) if like else (self.field, self.field)
        # PAD (0) or an out-of-range id has no symbol; a wall is the harmless reading.
        symbols = np.array(list("#" + MAZE_SYMBOLS + "#" * 16))
        cells = symbols[np.clip(field[:nrows, :ncols], 0, len(symbols) - 1)]
        return ["".join(row) for row in cells]


class ArcCodec(Codec):
    kind = "arc"
    vocab_size = 12

    def __init__(self, canvas: int = CANVAS):
        if not MIN_MAZE_FIELD <= canvas <= CANVAS:
            raise ValueError(f"ARC canvas {canvas} is out of range; use {MIN_MAZE_FIELD}-{CANVAS}")
        self.canvas = canvas
        self.seq_len = canvas * canvas

    def _whose(self) -> str:
        return "" if self.canvas == CANVAS else f" by this model, whose canvas is {self.canvas}x{self.canvas}"

    def parse_text(self, text: str) -> list[Grid]:
        """A JSON grid (list of rows of 0-9), or a JSON list of such grids."""
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise PuzzleError(f"ARC input is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                              "give a grid as a list of rows of integers 0-9") from None
        if isinstance(obj, list) and obj and all(isinstance(g, list) and g and isinstance(g[0], list) for g in obj):
            return [self.from_json(g, where=f"grid {i + 1}: ") for i, g in enumerate(obj)]
        return [self.from_json(obj)]

    def from_json(self, obj: Any, where: str = "") -> Grid:
        if not isinstance(obj, list) or not obj:
            raise PuzzleError(f"{where}ARC grid must be a non-empty list of rows of integers 0-9")
        if len(obj) > self.canvas:
            raise PuzzleError(f"{where}ARC grid has {len(obj)} rows; at most {self.canvas} are allowed{self._whose()}")
        width = len(obj[0]) if isinstance(obj[0], list) else -1
        grid = []
        for r, row in enumerate(obj):
            if not isinstance(row, list):
                raise PuzzleError(f"{where}row {r + 1}: must be a list of integers 0-9, got {type(row).__name__}")
            if r == 0 and not 1 <= width <= self.canvas:
                raise PuzzleError(f"{where}row 1 has {width} cells; rows need 1 to {self.canvas} cells{self._whose()}")
            if len(row) != width:
                raise PuzzleError(f"{where}row {r + 1} has {len(row)} cells but row 1 has {width}; "
                                  "all rows must have the same length")
            grid.append([_int_cell(v, f"{where}row {r + 1}, column {c + 1}", 0, 9) for c, v in enumerate(row)])
        return grid

    def encode(self, grid: Grid) -> np.ndarray:
        g = np.asarray(self.from_json(grid), dtype=np.int32)
        nrows, ncols = g.shape
        side = self.canvas
        canvas = np.full((side, side), ARC_PAD, dtype=np.int32)
        canvas[:nrows, :ncols] = g + ARC_COLOUR0
        if nrows < side:
            canvas[nrows, :ncols] = ARC_EOS
        if ncols < side:
            canvas[:nrows, ncols] = ARC_EOS
        return canvas.reshape(-1)

    def decode(self, tokens: Any, like: Grid | None = None) -> Grid:
        """The largest top-left rectangle of colours, grown row by row while each row's colour run allows.

        This is how the reference evaluator reads an answer: a row's run of colours ends at the first
        non-colour (EOS or PAD); the rectangle keeps the row count that maximises its area. An answer with
        no colour in the top-left cell decodes to an empty grid.
        """
        side = self.canvas
        canvas = self._tokens(tokens).reshape(side, side)
        is_colour = (canvas >= ARC_COLOUR0) & (canvas < ARC_COLOUR0 + 10)
        best, best_shape, width = 0, (0, 0), side
        for r in range(side):
            run = int(np.argmin(is_colour[r, :width])) if not is_colour[r, :width].all() else width
            width = run
            if (r + 1) * width > best:
                best, best_shape = (r + 1) * width, (r + 1, width)
        nrows, ncols = best_shape
        return (canvas[:nrows, :ncols] - ARC_COLOUR0).tolist()


_CODECS: dict[str, Codec] = {c.kind: c for c in (SudokuCodec(), MazeCodec(), ArcCodec())}


def codec_for(kind: str, seq_len: int | None = None) -> Codec:
    """The codec of a puzzle kind: 'sudoku', 'maze' or 'arc'.

    `seq_len` is the model's (TRMConfig.seq_len); it matters for mazes, whose field may be smaller than
    30x30, and is checked for the others. None means the kind's standard size.
    """
    try:
        codec = _CODECS[kind]
    except KeyError:
        raise PuzzleError(f"unknown puzzle kind {kind!r}; use one of {', '.join(_CODECS)}") from None
    if seq_len is None or seq_len == codec.seq_len:
        return codec
    side = maze_field(seq_len)  # the side of a square of seq_len cells, 3 to 30
    if kind == "maze" and side is not None:
        return MazeCodec(side)
    if kind == "arc" and side is not None:
        return ArcCodec(side)
    raise PuzzleError(f"{'an' if kind == 'arc' else 'a'} {kind} model with {seq_len} positions has no codec; {kind} models have "
                      + (f"a square {'field' if kind == 'maze' else 'canvas'} of {MIN_MAZE_FIELD}x{MIN_MAZE_FIELD} to "
                         f"{CANVAS}x{CANVAS}" if kind != "sudoku" else f"{codec.seq_len}"))


def maze_field(seq_len: int) -> int | None:
    """The side of the square maze field with `seq_len` cells, None if there is no such field."""
    side = math.isqrt(seq_len) if seq_len > 0 else 0
    return side if side * side == seq_len and MIN_MAZE_FIELD <= side <= CANVAS else None
