"""Dataset builders writing the reference's on-disk layout: generated Sudokus and mazes, and ARC tasks.

`python -m solver build-dataset sudoku|maze|arc --output-dir DIR ...` (see solver/cli/datasets.py).
"""
