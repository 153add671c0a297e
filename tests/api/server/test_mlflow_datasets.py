"""The unchanged MLflow client's dataset flows against the server (API.md §10)."""

from __future__ import annotations

import time

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.genai import datasets as mlflow_datasets

from evalledger import Client


def test_create_merge_and_read_back_through_both_apis(mlflow_at: str, db_url: str) -> None:
    experiment = mlflow.set_experiment("support-bot")
    ds = mlflow_datasets.create_dataset(
        name="golden", experiment_id=experiment.experiment_id, tags={"team": "support"}
    )
    ds.merge_records(
        [
            {"inputs": {"q": "What is MLflow?"}, "expectations": {"answer": "A platform"}},
            {"inputs": {"q": "2+2?"}},
        ]
    )
    ds.merge_records(pd.DataFrame([{"inputs": {"q": "2+2?"}, "expectations": {"answer": "4"}}]))

    again = mlflow_datasets.get_dataset(name="golden")
    assert again.dataset_id == ds.dataset_id
    df = again.to_df()
    assert sorted(r["q"] for r in df["inputs"]) == ["2+2?", "What is MLflow?"]
    assert {r["inputs"]["q"]: r["expectations"] for _, r in df.iterrows()}["2+2?"] == {
        "answer": "4"
    }

    ours = Client(db_url, user="auditor").get_dataset(dataset_id=ds.dataset_id)
    assert ours.version == 2  # create, then two merges: each one version
    history = ours.history()
    assert list(history["operation"]) == ["CREATE", "MERGE", "MERGE"]
    assert len(set(history["user"])) == 1  # the mlflow.user the client sent, every time


def test_to_df_pages_beyond_a_thousand_records(mlflow_at: str) -> None:
    ds = mlflow_datasets.create_dataset(name="big")
    ds.merge_records([{"inputs": {"i": i}} for i in range(2_345)])
    df = mlflow_datasets.get_dataset(name="big").to_df()
    assert len(df) == 2_345
    assert sorted(r["i"] for r in df["inputs"]) == list(range(2_345))


def test_delete_records_and_tags(mlflow_at: str, db_url: str) -> None:
    ds = mlflow_datasets.create_dataset(name="t")
    ds.merge_records([{"inputs": {"i": i}} for i in range(3)])
    ids = list(ds.to_df()["dataset_record_id"])
    assert ds.delete_records([*ids[:1], "dr-missing"]) == 1
    mlflow_datasets.set_dataset_tags(ds.dataset_id, {"stage": "dev"})
    mlflow_datasets.delete_dataset_tag(ds.dataset_id, "stage")
    ours = Client(db_url).get_dataset(dataset_id=ds.dataset_id)
    assert ours.num_records == 2
    assert "stage" not in ours.tags
    assert list(ours.history()["operation"])[-3:] == ["DELETE_RECORDS", "SET_TAGS", "DELETE_TAG"]


def _fails_fast(call: object, code: str) -> MlflowException:
    started = time.monotonic()
    with pytest.raises(MlflowException) as caught:
        call()  # type: ignore[operator]
    assert time.monotonic() - started < 1.0, "the client retried"
    assert caught.value.error_code == code
    return caught.value


def test_errors_come_back_fast_with_mlflow_codes(mlflow_at: str) -> None:
    mlflow_datasets.create_dataset(name="dup")
    _fails_fast(lambda: mlflow_datasets.create_dataset(name="dup"), "RESOURCE_ALREADY_EXISTS")
    _fails_fast(lambda: mlflow_datasets.get_dataset(name="absent"), "RESOURCE_DOES_NOT_EXIST")
    _fails_fast(
        lambda: mlflow_datasets.get_dataset(dataset_id="d-" + "0" * 32), "RESOURCE_DOES_NOT_EXIST"
    )
    bad = _fails_fast(
        lambda: mlflow_datasets.search_datasets(filter_string="name ~ 'x'"),
        "INVALID_PARAMETER_VALUE",
    )
    assert "~" in bad.message


def test_delete_dataset_is_idempotent_and_undeletable(mlflow_at: str, db_url: str) -> None:
    ds = mlflow_datasets.create_dataset(name="gone")
    mlflow_datasets.delete_dataset(dataset_id=ds.dataset_id)
    mlflow_datasets.delete_dataset(dataset_id=ds.dataset_id)
    with pytest.raises(MlflowException):
        mlflow_datasets.get_dataset(dataset_id=ds.dataset_id)
    back = Client(db_url).undelete_dataset(ds.dataset_id)
    assert back.name == "gone"
