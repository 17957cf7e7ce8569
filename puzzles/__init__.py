"""The playground's Django app: puzzles, solve jobs, their steps, checkpoints, API and streaming."""
