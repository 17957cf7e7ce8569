"""A staff evaluation through the real parts: the form in Chromium, the Celery worker evaluating in batches,
progress over the socket, the figures drawn per step, and two checkpoints on the same set side by side."""

import json

import pytest
from django.contrib.auth.models import User
from websockets.sync.client import connect

from puzzles.models import Evaluation

pytestmark = pytest.mark.stack

# Kept across the reload that follows the final snapshot: every progress snapshot the page's socket got.
RECORD_SNAPSHOTS = """
const NativeSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new NativeSocket(...args);
  socket.addEventListener("message", (event) => {
    const seen = JSON.parse(sessionStorage.getItem("snapshots") || "[]");
    sessionStorage.setItem("snapshots", JSON.stringify([...seen, JSON.parse(event.data)]));
  });
  return socket;
};
"""


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/evaluations/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "secret-root")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/evaluations/")


def evaluate(page, base_url: str, checkpoint_name: str) -> str:
    """Ask for 3 generated mazes of sides 5 and 7, one a batch; the evaluation's page once its figures show."""
    page.goto(f"{base_url}/evaluations/")
    page.select_option("#id_checkpoint", label=f"{checkpoint_name} (maze)")
    page.check("input[name=source][value=generated]")
    page.fill("#id_count", "3")
    page.fill("#id_sizes", "5,7")
    page.fill("#id_seed", "4")
    page.fill("#id_batch_size", "1")
    page.click("button[type=submit]:has-text('Evaluate')")
    page.wait_for_url(f"{base_url}/evaluations/*/")
    page.wait_for_selector("text=After each step", timeout=240_000)
    return page.url


def test_staff_evaluate_two_checkpoints_on_one_set_and_compare_them(stack, active_checkpoints, slow_maze_checkpoint,
                                                                    browser):
    User.objects.create_superuser("root", password="secret-root")
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.add_init_script(RECORD_SNAPSHOTS)
    page = context.new_page()
    log_in(page, stack.base_url)

    slow_url = evaluate(page, stack.base_url, "slow-maze")
    snapshots = page.evaluate("JSON.parse(sessionStorage.getItem('snapshots') || '[]')")
    # The page followed the run over its socket to the end (it may have opened while the mazes were generated).
    assert snapshots[-1] == {"type": "evaluation", "status": "done", "phase": "", "done": 3, "total": 3, "error": ""}
    assert [s["done"] for s in snapshots] == sorted(s["done"] for s in snapshots)
    evaluation = Evaluation.objects.get(checkpoint=slow_maze_checkpoint)
    steps = slow_maze_checkpoint.halt_max_steps
    assert page.locator("#per-step-table tbody tr").count() == steps == len(evaluation.figures["per_step"])
    assert page.locator("svg.evaluation-chart polyline.measure-line").count() == 1
    assert page.locator("svg.evaluation-chart circle").count() == steps
    assert page.locator("text=By size").is_visible()
    page.screenshot(path=str(stack.log_dir / "evaluation.png"), full_page=True)

    evaluate(page, stack.base_url, "tiny-maze")
    page.click("a.compare-link")  # "Other checkpoints on this set": the slow maze's run
    page.wait_for_url(f"{stack.base_url}/evaluations/compare/?ids=*")
    assert page.locator("svg.evaluation-chart polyline.measure-line").count() == 2
    assert page.locator("#compare-table thead th").all_inner_texts() == [
        "step", "tiny-maze: valid shortest path", "slow-maze: valid shortest path"]
    assert page.locator("#compare-table tbody tr").count() == steps
    assert not page.locator("text=saw different sets").count()
    page.screenshot(path=str(stack.log_dir / "evaluation-compare.png"), full_page=True)

    page.goto(slow_url)
    assert page.locator("a.compare-link").count() == 1
    context.close()


def test_the_progress_socket_is_for_staff_only(stack, active_checkpoints):
    evaluation = Evaluation.objects.create(checkpoint=active_checkpoints["maze"], limit=1, set_key="test")
    with connect(f"{stack.ws_url}/ws/evaluations/{evaluation.id}/", origin=stack.base_url, open_timeout=10) as socket:
        message = json.loads(socket.recv(timeout=10))
    assert message == {"type": "error", "code": 4403, "error": "evaluations are for staff: log in"}
