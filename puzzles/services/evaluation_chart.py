"""An evaluation's accuracy after each supervision step as an inline SVG, one or several runs on one chart.

For each run: the kind's per-step measure (services/evaluation_measures.py: a valid shortest path for
mazes, exact accuracy otherwise) as a solid line, token accuracy dashed, and a mark under the axis at the
step where the halting head would stop on average. A single run also gets bars: the share of puzzles whose
halting head would stop at that step. The page's caption says which line is which.
Drawn here, as the training curve is (services/training_curve.py): a few polylines, no plotting library
in the web process. Labels come from the database and are escaped.
"""

from django.utils.html import escape

from puzzles.services.evaluation_measures import per_step_measure

WIDTH, HEIGHT = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 24, 40
COLOURS = ("#3857d6", "#b3261e", "#2a7d45", "#8a4bb5", "#c77700", "#00838f")


def per_step_chart_svg(runs: list[tuple[str, dict]]) -> str:
    """SVG of runs given as (label, figures of solver.evaluate); empty when none has a per-step figure."""
    runs = [(label, figures) for label, figures in runs if figures and figures.get("per_step")]
    if not runs:
        return ""
    steps = max(len(figures["per_step"]) for _, figures in runs)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(step: float) -> float:
        return LEFT + (step - 1) / max(steps - 1, 1) * plot_w

    def y(share: float) -> float:
        return TOP + (1 - max(0.0, min(1.0, share))) * plot_h

    measure, measure_name = per_step_measure(runs[0][1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'class="evaluation-chart" aria-label="{escape(measure_name)} after each of {steps} steps">']
    for share in (0, 0.5, 1):
        parts.append(f'<line x1="{LEFT}" y1="{y(share):.1f}" x2="{WIDTH - RIGHT}" y2="{y(share):.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y(share) + 4:.1f}" font-size="10" text-anchor="end" fill="#666">'
                     f'{share:.0%}</text>')
    for step in range(1, steps + 1):
        if steps <= 16 or step in (1, steps) or step % 4 == 0:
            parts.append(f'<text x="{x(step):.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle" '
                         f'fill="#666">{step}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle" '
                 f'fill="#666">supervision step</text>')
    if len(runs) == 1:
        figures = runs[0][1]
        puzzles = max(figures.get("puzzles") or 0, 1)
        bar_w = max(plot_w / steps * 0.5, 2)
        for row in figures["per_step"]:
            share = row.get("would_halt_here", 0) / puzzles
            if share > 0:
                parts.append(f'<rect class="halt-bar" x="{x(row["step"]) - bar_w / 2:.1f}" y="{y(share):.1f}" '
                             f'width="{bar_w:.1f}" height="{y(0) - y(share):.1f}" fill="#e4e4e4">'
                             f'<title>step {row["step"]}: the halting head would stop {share:.1%} of puzzles here</title></rect>')
    legend = []
    for index, (label, figures) in enumerate(runs):
        colour = COLOURS[index % len(COLOURS)]
        rows = figures["per_step"]
        key = measure if measure in rows[0] else "exact_accuracy"
        solid = " ".join(f"{x(r['step']):.1f},{y(r[key]):.1f}" for r in rows)
        dashed = " ".join(f"{x(r['step']):.1f},{y(r['token_accuracy']):.1f}" for r in rows)
        parts.append(f'<polyline class="measure-line" fill="none" stroke="{colour}" stroke-width="2" points="{solid}"/>')
        parts.append(f'<polyline class="token-line" fill="none" stroke="{colour}" stroke-width="1" '
                     f'stroke-dasharray="4 3" points="{dashed}"/>')
        for r in rows:
            parts.append(f'<circle cx="{x(r["step"]):.1f}" cy="{y(r[key]):.1f}" r="2.5" fill="{colour}">'
                         f'<title>{escape(label)}, step {r["step"]}: {r[key]:.1%}</title></circle>')
        mean_halt = (figures.get("halting") or {}).get("mean_step")
        if mean_halt:
            hx = x(min(max(float(mean_halt), 1), steps))
            parts.append(f'<path class="halt-mark" d="M{hx:.1f},{y(0) + 2:.1f} l-4,7 h8 z" fill="{colour}">'
                         f'<title>{escape(label)}: the halting head would stop at step {mean_halt} on average</title></path>')
        legend.append(f'<tspan fill="{colour}">{escape(label)}</tspan>')
    parts.append(f'<text x="{LEFT}" y="14" font-size="11">{" · ".join(legend)}</text>')
    parts.append("</svg>")
    return "".join(parts)
