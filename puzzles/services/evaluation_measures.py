"""Which of solver.evaluate's figures says that an answer is right, for each kind of puzzle set.

A maze answer is right when it is a valid shortest path (a maze with loops has several, and a model may
draw another than the label's); any other answer when every cell is right. ARC's headline after the last
step is the vote over views, pass@2, which has no per-step figure. The evaluation list, its chart and its
tables all take their headline from here.
"""

PER_STEP = {"maze": ("valid_shortest_path", "valid shortest path")}
FINAL = {"arc": ("pass@2", "pass@2")}
EXACT = ("exact_accuracy", "exact accuracy")


def per_step_measure(figures: dict) -> tuple[str, str]:
    """(key, name) of the figure, in each per-step row (and by-size row), that says an answer is right."""
    return PER_STEP.get(figures.get("kind", ""), EXACT)


def final_measure(figures: dict) -> tuple[str, str]:
    """(key, name) of the set's headline figure after the last step."""
    return FINAL.get(figures.get("kind", ""), per_step_measure(figures))
