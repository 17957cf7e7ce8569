"""The OpenAPI shapes of puzzle bodies, results and steps: what the codecs check, written as JSON Schema.

The request's `puzzle` depends on its `kind`, so the submit body is documented as one schema per kind (a
oneOf with `kind` as discriminator; puzzles/api/views.py). Validation itself stays with the solver's codecs
(puzzles/services/puzzle_input.py); these schemas state as much of it as JSON Schema can. What they cannot
state: a maze's rows of equal length with one S and one G, an ARC grid's rows of equal length, and a Sudoku
that keeps the rules with exactly one solution: such bodies are schema-valid and answered 400 with the reason.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from puzzles.services.puzzle_input import MAX_ARC_PAIRS, MAX_ARC_TESTS
from solver.codecs import CANVAS

SUDOKU_EXAMPLE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
MAZE_EXAMPLE = ["#######", "#S   G#", "# ### #", "#     #", "#######"]
ARC_EXAMPLE = {"train": [{"input": [[1, 0], [0, 0]], "output": [[0, 1], [0, 0]]}], "test": [{"input": [[0, 0], [2, 0]]}]}

DIGIT = {"type": "integer", "minimum": 0, "maximum": 9}
SUDOKU_GRID = {
    "oneOf": [
        {"type": "string", "pattern": r"^\s*(?:[0-9.]\s*){81}$",
         "description": "81 cells row by row: 1-9, with '.' or '0' for a blank (white space ignored)."},
        {"type": "array", "minItems": 9, "maxItems": 9,
         "items": {"type": "array", "minItems": 9, "maxItems": 9, "items": DIGIT},
         "description": "9 rows of 9 integers, 0 for a blank."},
    ],
}
MAZE_ROWS = {
    "type": "array", "minItems": 1, "maxItems": CANVAS,
    "items": {"type": "string", "minLength": 1, "maxLength": CANVAS, "pattern": "^[# SG]+$"},
    "description": (f"Rows of equal length: '#' wall, ' ' open, 'S' start, 'G' goal (one each); at most "
                    f"{CANVAS}x{CANVAS}, or the field of the checkpoint that solves it."),
}
ARC_GRID = {
    "type": "array", "minItems": 1, "maxItems": CANVAS,
    "items": {"type": "array", "minItems": 1, "maxItems": CANVAS, "items": DIGIT},
    "description": f"Rows of equal length of colours 0-9, 1x1 to {CANVAS}x{CANVAS}.",
}
ANSWER_GRID = {"oneOf": [ARC_GRID, {"type": "array", "items": {"type": "string"}}],
               "description": "A Sudoku or ARC answer as rows of integers, a maze as row strings ('o' marks the path)."}


@extend_schema_field({"type": "object", "required": ["grid"],
                      "properties": {"grid": SUDOKU_GRID}, "example": {"grid": SUDOKU_EXAMPLE}})
class SudokuPuzzleField(serializers.JSONField):
    pass


@extend_schema_field({**SUDOKU_GRID, "example": SUDOKU_EXAMPLE})
class SudokuGridField(serializers.JSONField):
    pass


# Django REST framework refuses a NUL character in any string field.
NO_NUL = "^[^\x00]*$"


@extend_schema_field({"type": "object", "required": ["grid"],
                      "properties": {"grid": MAZE_ROWS}, "example": {"grid": MAZE_EXAMPLE}})
class MazePuzzleField(serializers.JSONField):
    pass


@extend_schema_field({
    "type": "object", "required": ["train", "test"], "example": ARC_EXAMPLE,
    "properties": {
        "train": {"type": "array", "minItems": 1, "maxItems": MAX_ARC_PAIRS,
                  "items": {"type": "object", "required": ["input", "output"],
                            "properties": {"input": ARC_GRID, "output": ARC_GRID}}},
        "test": {"type": "array", "minItems": 1, "maxItems": MAX_ARC_TESTS,
                 "items": {"type": "object", "required": ["input"],
                           "properties": {"input": ARC_GRID, "output": {**ARC_GRID, "nullable": True}}}},
        "task": {"type": "string", "minLength": 1, "maxLength": 100, "nullable": True,
                 "description": "The task's name in an ARC dataset, when it is one (its test outputs are then known)."},
    },
})
class ArcPuzzleField(serializers.JSONField):
    pass


@extend_schema_field({"oneOf": [
    {"type": "object", "required": ["grid"], "properties": {"grid": SUDOKU_GRID}},
    {"type": "object", "required": ["grid"], "properties": {"grid": MAZE_ROWS}},
    {"type": "object", "required": ["train", "test"]},
], "description": "The puzzle as solved, normalised (Sudoku grids as 9 rows of 9 integers)."})
class SavedPuzzleField(serializers.JSONField):
    pass


@extend_schema_field({
    "type": "object", "nullable": True,
    "description": "Once done: the answer after the last step run, and how it was reached.",
    "properties": {
        "grid": ANSWER_GRID,
        "grids": {"type": "array", "items": ANSWER_GRID, "description": "The answer to every test input (ARC)."},
        "steps": {"type": "integer", "minimum": 0, "description": "Supervision steps run."},
        "halted_at": {"type": "integer", "nullable": True, "description": "The step the halting threshold stopped it at."},
        "stopped_by_halting": {"type": "boolean"},
        "batch_size": {"type": "integer", "minimum": 1, "description": "Rows in the forward pass it shared."},
        "attempts": {"type": "array", "description": "ARC: up to two answers per test input, best first."},
        "augmentations": {"type": "integer", "description": "ARC: views of the task voted over."},
        "fitted": {"type": "boolean", "description": "ARC: whether the task's embedding was fitted at test time."},
        "timings": {"type": "object", "additionalProperties": {"type": "number"},
                    "description": "ARC: seconds of fitting, solving and voting."},
    },
})
class JobResultField(serializers.JSONField):
    pass


@extend_schema_field({**ANSWER_GRID, "description": "The answer to the (first) test input after this step."})
class StepGridField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": ANSWER_GRID, "description": "The answers to every test input (ARC may have several)."})
class StepAnswersField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                      "description": "Probability of the chosen symbol, per position of the model's answer, row by row."})
class StepConfidenceField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": ANSWER_GRID, "description": "The answer after each H cycle, when asked for."})
class StepFramesField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "description": "With samples or views: each trajectory at this step.",
                      "items": {"type": "object", "properties": {
                          "sample": {"type": "integer"}, "view": {"type": "integer"}, "grid": ANSWER_GRID,
                          "halt_prob": {"type": "number"}, "q_halt_logit": {"type": "number"}, "active": {"type": "boolean"}}}})
class StepTrajectoriesField(serializers.JSONField):
    pass
