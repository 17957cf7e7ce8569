"""Staff evaluations, web side and worker side in this process: what is refused and why, and that the worker's
figures are those of `python -m solver evaluate` on the same puzzles (a generated set is rebuilt from its
description by the same builder and seed). The page, the socket and a real worker: test_browser_evaluations.py."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from puzzles.models import Evaluation
from puzzles.services.evaluation_execution import evaluation_execute
from puzzles.services.evaluation_runs import EvaluationRefused, built_datasets, evaluation_create, generated_set

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def datasets_dir(settings, tmp_path) -> Path:
    settings.TRM_DATASETS_DIR = tmp_path / "datasets"
    settings.TRM_DATASETS_DIR.mkdir()
    return settings.TRM_DATASETS_DIR


def build(kind: str, folder: Path, *options: str) -> None:
    subprocess.run([sys.executable, "-m", "solver", "build-dataset", kind, "--output-dir", str(folder), "--num-train", "0",
                    *options], check=True, cwd=PROJECT_DIR, capture_output=True)


def cli_figures(checkpoint: Path, dataset: Path, *options: str) -> dict:
    printed = subprocess.run([sys.executable, "-m", "solver", "evaluate", str(checkpoint), str(dataset), "--json", *options],
                             check=True, cwd=PROJECT_DIR, capture_output=True, text=True).stdout
    return json.loads(printed)


def test_requests_the_worker_could_not_run_are_refused_with_the_field_at_fault(active_checkpoints, datasets_dir):
    maze, arc, sudoku = active_checkpoints["maze"], active_checkpoints["arc"], active_checkpoints["sudoku"]
    with pytest.raises(EvaluationRefused, match="ARC sets cannot be generated") as refused:
        generated_set(arc, count=10, seed=0)
    assert refused.value.field == "source"
    with pytest.raises(EvaluationRefused, match=r"maze sizes \[31\] are outside 2-30") as refused:
        generated_set(maze, count=10, seed=0, sizes="5,31")
    assert refused.value.field == "sizes"
    with pytest.raises(EvaluationRefused, match="not whole numbers"):
        generated_set(maze, count=10, seed=0, sizes="5,x")
    with pytest.raises(EvaluationRefused, match="difficulty band '3-1' is empty") as refused:
        generated_set(sudoku, count=10, seed=0, bands="0,3-1")
    assert refused.value.field == "bands"
    with pytest.raises(EvaluationRefused, match="generate 1 to 5000 puzzles, not 5001") as refused:
        generated_set(sudoku, count=5001, seed=0)
    assert refused.value.field == "count"

    build("sudoku", datasets_dir / "sudoku-small", "--num-test", "3")
    assert [(d.name, d.kind, d.puzzles) for d in built_datasets()] == [("sudoku-small", "sudoku", 3)]
    with pytest.raises(EvaluationRefused, match="sudoku-small holds sudoku puzzles; tiny-maze is a maze model"):
        evaluation_create(checkpoint=maze, dataset_name="sudoku-small")
    with pytest.raises(EvaluationRefused, match="no dataset 'gone'"):
        evaluation_create(checkpoint=sudoku, dataset_name="gone")
    with pytest.raises(EvaluationRefused, match="batch size must be 1 to 256"):
        evaluation_create(checkpoint=sudoku, dataset_name="sudoku-small", batch_size=0)
    assert not Evaluation.objects.exists()  # nothing half-saved


def test_a_generated_maze_set_gets_the_figures_the_command_line_gives_on_the_same_mazes(active_checkpoints, jobs_stay_queued,
                                                                                        tiny_checkpoint_files, tmp_path):
    spec = generated_set(active_checkpoints["maze"], count=6, seed=7, sizes="5,7")
    evaluation = evaluation_create(checkpoint=active_checkpoints["maze"], generated=spec, batch_size=4)
    evaluation_execute(evaluation_id=evaluation.id)

    evaluation.refresh_from_db()
    assert evaluation.status == "done", evaluation.error
    assert (evaluation.done, evaluation.total) == (6, 6)
    figures = evaluation.figures
    assert figures["checkpoint"] == "tiny-maze" and figures["dataset"] == "6 generated maze puzzles, sizes [5, 7], seed 7"
    assert [row["size"] for row in figures["by_size"]] == ["5x5", "7x7"]

    build("maze", tmp_path / "same", "--num-test", "6", "--size", "5", "7", "--seed", "7")
    expected = cli_figures(tiny_checkpoint_files["maze"], tmp_path / "same")
    assert figures["per_step"] == expected["per_step"] and figures["halting"] == expected["halting"]
    assert len(figures["per_step"]) == active_checkpoints["maze"].halt_max_steps

    again = evaluation_create(checkpoint=active_checkpoints["maze"], generated=spec, batch_size=4)
    assert again.set_key == evaluation.set_key  # the same description: comparable side by side
    evaluation_execute(evaluation_id=evaluation.id)  # a message delivered again does nothing
    assert Evaluation.objects.get(id=evaluation.id).figures == figures


def test_a_built_set_is_evaluated_and_one_missing_on_the_worker_fails_with_the_folder_named(
        active_checkpoints, jobs_stay_queued, datasets_dir, tiny_checkpoint_files, settings):
    build("sudoku", datasets_dir / "sudoku-small", "--num-test", "5", "--seed", "3")
    evaluation = evaluation_create(checkpoint=active_checkpoints["sudoku"], dataset_name="sudoku-small", limit=4)
    evaluation_execute(evaluation_id=evaluation.id)
    evaluation.refresh_from_db()
    assert evaluation.status == "done", evaluation.error
    expected = cli_figures(tiny_checkpoint_files["sudoku"], datasets_dir / "sudoku-small", "--limit", "4")
    assert evaluation.figures["per_step"] == expected["per_step"] and evaluation.figures["puzzles"] == 4
    assert evaluation.figures["by_difficulty"] == expected["by_difficulty"]

    lost = evaluation_create(checkpoint=active_checkpoints["sudoku"], dataset_name="sudoku-small")
    settings.TRM_DATASETS_DIR = datasets_dir.parent / "elsewhere"  # a worker on a machine without the folder
    evaluation_execute(evaluation_id=lost.id)
    lost.refresh_from_db()
    assert lost.status == "failed" and "has no dataset sudoku-small in" in lost.error
    assert "give its workers the same folder, or evaluate a generated set" in lost.error


def test_the_pages_are_for_staff_and_the_form_shows_a_refusal_on_its_field(client, active_checkpoints, jobs_stay_queued,
                                                                        datasets_dir):
    assert client.get(reverse("evaluations-page")).status_code == 302  # to the admin's login
    client.force_login(User.objects.create_user("visitor", password="x"))
    assert client.get(reverse("evaluations-page")).status_code == 302
    client.force_login(User.objects.create_superuser("root", password="x"))
    page = client.get(reverse("evaluations-page"))
    assert page.status_code == 200 and b"No datasets built on the server yet" in page.content

    answer = client.post(reverse("evaluations-page"), {
        "checkpoint": active_checkpoints["maze"].pk, "source": "generated", "count": 5, "sizes": "5,40",
        "seed": 1, "batch_size": 8})
    assert answer.status_code == 400
    assert b"maze sizes [40] are outside 2-30" in answer.content
    assert not Evaluation.objects.exists()

    answer = client.post(reverse("evaluations-page"), {
        "checkpoint": active_checkpoints["sudoku"].pk, "source": "generated", "count": 5, "bands": "0",
        "seed": 1, "batch_size": 8})
    evaluation = Evaluation.objects.get()
    assert answer.status_code == 302 and answer["Location"] == reverse("evaluation-page", args=[evaluation.id])
    assert evaluation.generated == {"kind": "sudoku", "count": 5, "bands": "0", "seed": 1}
    assert evaluation.requested_by.username == "root"
    running = client.get(answer["Location"])
    assert b'id="evaluation-progress"' in running.content  # not run yet: no worker in this test

    assert client.get(reverse("evaluation-compare-page") + f"?ids={evaluation.id}").status_code == 400
    assert client.get(reverse("evaluation-compare-page") + "?ids=x,y").status_code == 400


def test_an_evaluation_killed_at_its_hard_limit_is_failed_with_the_reason(active_checkpoints, jobs_stay_queued):
    from billiard.exceptions import TimeLimitExceeded

    from puzzles.tasks import fail_an_evaluation_past_the_hard_limit

    spec = generated_set(active_checkpoints["sudoku"], count=2, seed=0)
    evaluation = evaluation_create(checkpoint=active_checkpoints["sudoku"], generated=spec)
    Evaluation.objects.filter(id=evaluation.id).update(status=Evaluation.Status.RUNNING)
    fail_an_evaluation_past_the_hard_limit(exception=RuntimeError("not a time limit"), args=[str(evaluation.id)])
    assert Evaluation.objects.get(id=evaluation.id).status == "running"
    fail_an_evaluation_past_the_hard_limit(exception=TimeLimitExceeded(1500), args=[str(evaluation.id)])
    evaluation.refresh_from_db()
    assert evaluation.status == "failed"
    assert "ran past its time limit of 1500 s (TRM_EVALUATION_TIME_LIMIT)" in evaluation.error


def test_an_evaluation_whose_worker_stops_beating_is_failed_by_the_sweep(active_checkpoints, jobs_stay_queued, settings):
    import time
    from datetime import timedelta

    from django.utils import timezone

    from puzzles.services.evaluation_execution import _heartbeat, evaluations_fail_silent

    settings.TRM_HEARTBEAT_STALE = 4
    spec = generated_set(active_checkpoints["sudoku"], count=2, seed=0)
    dead, alive = (evaluation_create(checkpoint=active_checkpoints["sudoku"], generated=spec) for _ in range(2))
    long_ago = timezone.now() - timedelta(seconds=60)
    Evaluation.objects.filter(id__in=[dead.id, alive.id]).update(status=Evaluation.Status.RUNNING, heartbeat_at=long_ago)
    with _heartbeat(alive.id):  # a worker still running it beats every second
        deadline = timezone.now() + timedelta(seconds=10)
        while Evaluation.objects.get(id=alive.id).heartbeat_at == long_ago and timezone.now() < deadline:
            time.sleep(0.1)
        assert evaluations_fail_silent() == 0  # seen silent once: it may be a database outage ending
        time.sleep(2.1)  # two beats
        assert evaluations_fail_silent() == 1
    dead.refresh_from_db()
    assert dead.status == "failed" and "its worker stopped answering for over 4 s" in dead.error
    assert Evaluation.objects.get(id=alive.id).status == "running"


def test_each_kind_is_summed_up_by_the_figure_that_says_its_answers_are_right():
    figures = {"exact_accuracy": 0.5, "valid_shortest_path": 0.75, "pass@2": 0.25}
    summaries = {kind: Evaluation(figures=dict(figures, kind=kind)).result_summary for kind in ("sudoku", "maze", "arc")}
    assert summaries == {"sudoku": "exact accuracy 50.0%", "maze": "valid shortest path 75.0%", "arc": "pass@2 25.0%"}
    assert Evaluation(figures=None).result_summary == ""


def test_a_queued_evaluation_whose_message_was_lost_is_sent_again_once(active_checkpoints, jobs_stay_queued, settings,
                                                                       redis_url):
    """Redis restarted without persistence and lost the queue: the workers' sweep sends a queued evaluation again
    once its message has waited TRM_REQUEUE_AFTER, once however many sweeps run; a recent one and a running one
    are left alone."""
    from datetime import timedelta

    import redis
    from django.utils import timezone

    from puzzles.services.evaluation_runs import evaluations_requeue_lost
    from trmweb.redis_databases import redis_databases

    settings.TRM_REQUEUE_AFTER = 60
    broker = redis.Redis.from_url(redis_databases(redis_url).broker)
    spec = generated_set(active_checkpoints["sudoku"], count=2, seed=0)
    lost, recent, running = (evaluation_create(checkpoint=active_checkpoints["sudoku"], generated=spec) for _ in range(3))
    assert broker.llen(jobs_stay_queued) == 3  # each sent once, on commit
    broker.delete(jobs_stay_queued)  # the restart
    # Past this test's TRM_REQUEUE_AFTER, within the session stack's (300 s): its worker's sweep sees this
    # database too, and would send the evaluation to a queue it consumes.
    long_ago = timezone.now() - timedelta(seconds=120)
    Evaluation.objects.filter(id__in=[lost.id, running.id]).update(enqueued_at=long_ago)
    Evaluation.objects.filter(id=running.id).update(status=Evaluation.Status.RUNNING)

    assert evaluations_requeue_lost() == 1
    assert evaluations_requeue_lost() == 0  # just sent: not again until it has waited TRM_REQUEUE_AFTER anew
    messages = broker.lrange(jobs_stay_queued, 0, -1)
    assert len(messages) == 1 and str(lost.id).encode() in messages[0]
    lost.refresh_from_db()
    assert lost.status == "queued" and lost.enqueued_at > long_ago
    broker.close()
