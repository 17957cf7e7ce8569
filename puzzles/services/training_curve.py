"""A checkpoint's training curve as a small inline SVG for the admin: the loss and the accuracies over updates.

Training writes the curve into the checkpoint's provenance (`training_curve`: step, loss, accuracy,
exact_accuracy, at most 200 points; solver/train.py), so a checkpoint uploaded without its run's folder still
shows how it was trained. Drawn here rather than with a plotting library: a few polylines, and the admin
must not load matplotlib (or torch) to show a page.
"""

import math

WIDTH, HEIGHT, MARGIN = 480, 160, 30
SERIES = (("loss", "#b3261e", "loss (log scale, left)"), ("accuracy", "#3857d6", "token accuracy"),
          ("exact_accuracy", "#2a7d45", "exact accuracy"))


def _polyline(points: list[tuple[float, float]], colour: str) -> str:
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coordinates}"/>'


def training_curve_svg(curve: list[dict]) -> str:
    """The SVG of a curve; empty when it has fewer than two points. Only numbers go into it."""
    points = [p for p in curve if isinstance(p.get("step"), (int, float))]
    if len(points) < 2:
        return ""
    first, last = points[0]["step"], points[-1]["step"]
    span = max(last - first, 1)

    def x(step: float) -> float:
        return MARGIN + (step - first) / span * (WIDTH - 2 * MARGIN)

    def y(share: float) -> float:
        return HEIGHT - MARGIN + -max(0.0, min(1.0, share)) * (HEIGHT - 2 * MARGIN)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="Training curve: updates {first} to {last}" class="training-curve">',
             f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#999"/>']
    losses = [float(p["loss"]) for p in points if isinstance(p.get("loss"), (int, float)) and p["loss"] > 0]
    for key, colour, _label in SERIES:
        values = [(p["step"], float(p[key])) for p in points if isinstance(p.get(key), (int, float))]
        if key == "loss":
            if not losses:
                continue
            low, high = math.log(min(losses)), math.log(max(losses))
            values = [(step, (math.log(v) - low) / max(high - low, 1e-9)) for step, v in values if v > 0]
        parts.append(_polyline([(x(step), y(v)) for step, v in values], colour))
    legend = " · ".join(f'<tspan fill="{colour}">{label}</tspan>' for _key, colour, label in SERIES)
    parts.append(f'<text x="{MARGIN}" y="14" font-size="11">{legend}</text>')
    parts.append(f'<text x="{MARGIN}" y="{HEIGHT - 10}" font-size="10" fill="#666">update {first}</text>')
    parts.append(f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 10}" font-size="10" fill="#666" text-anchor="end">'
                 f'update {last}</text></svg>')
    return "".join(parts)
