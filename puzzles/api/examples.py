"""Puzzles to start from (`/api/v1/examples/...`) and the Sudoku check the playground runs before a submit.

Random puzzles come from the solver's own generators, live: a fresh one per request, so nobody runs out
and nothing has to be stored. Both generators draw from their random stream between every small piece of
work, so a stream that raises once a deadline has passed bounds them without a thread or a process to
kill (see _DeadlineRandom). Measured on this project's 2-core machine under load, a Sudoku of the
"extreme" band takes 0.25 s on average and 0.7 s at worst over 8 draws, a 30x30 maze 0.01 s; the
deadline only stops a pathological draw, with 503 and a message to retry. Every endpoint here runs
the solver on the web server, so it counts against the same per-client rate as submitting a job.
"""

import random
import time

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from puzzles.api.clients import SubmitAnonThrottle, SubmitUserThrottle
from puzzles.api.schemas import SudokuGridField
from puzzles.api.serializers import ErrorOutputSerializer
from puzzles.services.puzzle_input import TOO_HARD_TO_COUNT, SudokuTooHardToCount, count_sudoku_solutions
from solver.codecs import CANVAS, PuzzleError, codec_for
from solver.datasets import maze, sudoku

# Difficulty = guesses the rating solver makes (solver/datasets/sudoku.py), inclusive bands; None: no top.
# "easy" needs no guess at all (singles solve it), "extreme" is where Sudoku-Extreme's hard tail starts.
# Of fresh minimal puzzles about 40% rate 0, 15% rate 4-10 and 2.5% rate 11 or more.
DIFFICULTIES = {"easy": (0, 0), "medium": (1, 3), "hard": (4, 10), "extreme": (11, None)}
GENERATION_SECONDS = 5.0


class GenerationTimeout(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "making a puzzle took too long this time; please try again"


class _DeadlineRandom(random.Random):
    """A fresh random stream (seeded from the system) that raises GenerationTimeout after `seconds`."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds  # before seeding, which may already draw
        super().__init__()

    def _check(self) -> None:
        if time.monotonic() > self.deadline:
            raise GenerationTimeout()

    def random(self) -> float:
        self._check()
        return super().random()

    def getrandbits(self, k: int) -> int:
        self._check()
        return super().getrandbits(k)


class ExampleAnonThrottle(SubmitAnonThrottle):
    """The submit rate, counted apart: picking a random puzzle leaves the submits allowed as they were."""

    scope = "examples_anon"


class ExampleUserThrottle(SubmitUserThrottle):
    scope = "examples_user"


class SudokuExampleOutputSerializer(serializers.Serializer):
    grid = serializers.CharField(help_text="81 characters, row by row, '.' for a blank.")
    guesses = serializers.IntegerField(help_text="The difficulty rating: guesses the rating solver made.")
    difficulty = serializers.CharField()


class MazeExampleOutputSerializer(serializers.Serializer):
    grid = serializers.ListField(child=serializers.CharField(), help_text="Rows of '#', ' ', 'S', 'G'.")
    shortest_path = serializers.IntegerField(help_text="Steps of a shortest path from S to G.")
    min_path = serializers.IntegerField(help_text="The shortest path is longer than this.")


class SudokuCheckInputSerializer(serializers.Serializer):
    grid = SudokuGridField(help_text="81 characters ('.' or '0' blank) or a 9x9 list of integers 0-9.")


class SudokuCheckOutputSerializer(serializers.Serializer):
    solutions = serializers.IntegerField(help_text="0, 1, or 2 for more than one.")
    guesses = serializers.IntegerField(help_text="Guesses made; with one solution, the difficulty rating.")


class _ExampleApi(APIView):
    throttle_classes = [ExampleAnonThrottle, ExampleUserThrottle]


def _query(serializer_class, request) -> dict:
    # A plain dict, so that an empty `difficulty=` is refused rather than read as absent.
    query = serializer_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return query.validated_data


class SudokuExampleApi(_ExampleApi):
    """A random Sudoku with exactly one solution, of the difficulty asked for."""

    class QuerySerializer(serializers.Serializer):
        difficulty = serializers.ChoiceField(
            choices=list(DIFFICULTIES), required=False, default="medium",
            help_text="Guesses a backtracking solver needs: easy 0, medium 1-3, hard 4-10, extreme 11 or more.")

    @extend_schema(operation_id="examples_sudoku", parameters=[QuerySerializer],
                   responses={200: SudokuExampleOutputSerializer, **{code: ErrorOutputSerializer for code in (400, 429, 503)}})
    def get(self, request):
        difficulty = _query(self.QuerySerializer, request)["difficulty"]
        low, high = DIFFICULTIES[difficulty]
        puzzle, _solution, guesses = sudoku.generate(_DeadlineRandom(GENERATION_SECONDS), low, high)
        grid = "".join(str(v) if v else "." for v in puzzle)
        return Response(SudokuExampleOutputSerializer({"grid": grid, "guesses": guesses, "difficulty": difficulty}).data)


class MazeExampleApi(_ExampleApi):
    """A random maze in the style of Maze-Hard: 30x30 with a shortest path over 110 steps, scaled for smaller sizes."""

    class QuerySerializer(serializers.Serializer):
        size = serializers.IntegerField(required=False, default=maze.HARD_SIZE, min_value=2, max_value=CANVAS,
                                        help_text="Width and height.")

    @extend_schema(operation_id="examples_maze", parameters=[QuerySerializer],
                   responses={200: MazeExampleOutputSerializer, **{code: ErrorOutputSerializer for code in (400, 429, 503)}})
    def get(self, request):
        size = _query(self.QuerySerializer, request)["size"]
        try:
            rows, _answer, length = maze.generate(_DeadlineRandom(GENERATION_SECONDS), size)
        except ValueError:  # no long enough path after many tries: as rare as a timeout, answered alike
            raise GenerationTimeout() from None
        data = {"grid": rows, "shortest_path": length, "min_path": maze.default_min_path_length(size)}
        return Response(MazeExampleOutputSerializer(data).data)


class SudokuCheckApi(_ExampleApi):
    """How many solutions a Sudoku has: 0, 1, or 2 meaning "more than one" (the search stops at the second).

    The search eliminates singles at every node and branches on the cell with the fewest candidates, which
    keeps it small: 339 guesses for the hardest well-known puzzle (Easter Monster) and at most 0.02 s over
    3,000 random conflict-free grids of 8 to 30 clues (a grid with no clue stops at its second solution at
    once). A conflict-free grid with no solution can still need millions: past SUDOKU_GUESS_LIMIT
    (puzzles/services/puzzle_input.py) the check answers 400, as a submit of that grid does.
    """

    @extend_schema(operation_id="sudoku_check", request=SudokuCheckInputSerializer,
                   responses={200: SudokuCheckOutputSerializer, **{code: ErrorOutputSerializer for code in (400, 429)}})
    def post(self, request):
        incoming = SudokuCheckInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            grid = codec_for("sudoku").from_json(incoming.validated_data["grid"])
        except PuzzleError as error:
            raise ValidationError({"grid": [str(error)]}) from None
        try:
            result = count_sudoku_solutions(grid)
        except SudokuTooHardToCount:
            raise ValidationError({"grid": [TOO_HARD_TO_COUNT]}) from None
        return Response(SudokuCheckOutputSerializer({"solutions": len(result.solutions), "guesses": result.guesses}).data)
