"""search_mini through the real Ikomia registry and workflow, MLflow into a file:// store (its STUDIO
panel is tested with the other panels in test_widgets.py)."""

from __future__ import annotations

import json

import pytest
from ikomia.core import IODataType
from ikomia.dataprocess import CPathIO
from ikomia.dataprocess.workflow import Workflow

from helpers import no_server_left
from mnas.arch import parse_arch

PLUGIN = "search_mini"
pytestmark = pytest.mark.usefixtures("one_thread")
TINY = {"budget_children": "3", "train_images": "60", "val_images": "30", "baseline_widths": "0.5",
        "train_threads": "1", "target_latency_ms": "0"}


@pytest.mark.slow
def test_search_mini_runs_in_a_workflow_and_logs_every_child(tmp_path, cifar10_root, mlflow_file_store):
    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(cifar10_root)))
    task = workflow.add_task(name=PLUGIN, auto_connect=True)
    output = tmp_path / "search"
    task.set_parameters({**TINY, "output_folder": str(output)})
    workflow.run()

    best_table = task.get_output(0)
    arch = best_table.get_value_list(0)[0]
    parse_arch(arch)
    summary = json.loads((output / "summary.json").read_text())
    assert arch == summary["best"]["arch"]
    pareto = task.get_output(1).get_image()
    assert pareto.ndim == 3 and pareto.shape[2] == 3 and pareto.std() > 0

    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_file_store.resolve().as_uri())
    experiments = [e.experiment_id for e in client.search_experiments()]
    (run,) = client.search_runs(experiments)
    history = client.get_metric_history(run.info.run_id, "child/reward")
    assert [m.step for m in history] == [0, 1, 2]
    children = [json.loads(line) for line in (output / "children.jsonl").read_text().splitlines()]
    assert [m.value for m in history] == pytest.approx([c["reward"] for c in children])
    assert client.get_metric_history(run.info.run_id, "baseline/accuracy")
    assert run.data.params["budget_children"] == "3"
    assert no_server_left()


def test_search_mini_refuses_bad_parameters_and_keeps_the_old_ones(mlflow_file_store):  # no server started
    workflow = Workflow()
    task = workflow.add_task(name=PLUGIN, auto_connect=True)
    # Ikomia re-raises the parameter class's ValueError as a RuntimeError carrying its message
    with pytest.raises((ValueError, RuntimeError), match="constraint must be one of soft, hard"):
        task.set_parameters({"constraint": "medium"})
    with pytest.raises((ValueError, RuntimeError), match="budget_children must be an integer"):
        task.set_parameters({"budget_children": "many"})
    assert task.get_parameters()["constraint"] == "soft"



def test_search_mini_passes_the_final_comparison_settings_to_the_search():
    from search_mini.search_mini_process import DEFAULTS, config_from_values

    config = config_from_values({**DEFAULTS, "final_top_k": "3", "final_epochs": "2"})
    assert (config.final_top_k, config.final_epochs) == (3, 2)
    with pytest.raises(ValueError, match="final_top_k"):
        config_from_values({**DEFAULTS, "final_top_k": "-1"})
