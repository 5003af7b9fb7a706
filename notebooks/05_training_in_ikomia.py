# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 5 — Training a searched MnasNet in an Ikomia workflow
#
# The search of lesson 4 gives an *architecture string*, trained for a few minutes at most. To use
# it we train it properly, on real data, and keep a record of the run. Here we do that the way an Ikomia
# user does: a **workflow** with the `train_mnasnet` task, which takes a dataset folder, trains, logs
# every epoch to **MLflow**, and writes a model file that `infer_mnasnet` (lesson 6) loads as it is.
#
# The task is a thin adapter: the training itself is the project's engine (`mnas.train`), the same one
# the search uses as its proxy trainer. The string travels unchanged from the search log to the task's
# `arch` parameter and into the saved weights.
#
# **Lesson time:** measured by the test suite on a quiet 2-core machine: fast mode 16 s,
# full mode 213 s (28 s in fast mode when other jobs shared the machine; see README.md).

# %% tags=["parameters"]
import os

FAST = os.environ.get("MNAS_FAST", "0") == "1"  # the test suite runs every lesson in fast mode

TRAIN_PER_CLASS = 100 if FAST else 500   # CIFAR-10 training images per class
VAL_PER_CLASS = 20 if FAST else 200      # validation images per class (from CIFAR-10's test/)
EPOCHS = 2 if FAST else 8

# %% [markdown]
# ## 1. A dataset folder in the Ikomia layout
#
# `train_mnasnet` reads a folder `<root>/train/<class>/*` with an optional `<root>/val/<class>/*` (or
# `test/`). CIFAR-10 is already laid out this way in `../shared/datasets/cifar10-jpg`; for a lesson that
# fits in a class period we link a subset of it into `outputs/` (symbolic links, nothing copied): the
# first images of each class from CIFAR-10's training set for training, and from its test set for
# validation.

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from mnas.data import cifar10_root, link_subset
from mnas.lessons import figure_shower, lesson_outputs

CIFAR10 = cifar10_root()  # ../shared/datasets/cifar10-jpg beside the repository (or $MNAS_CIFAR10)
OUTPUTS = lesson_outputs(5)  # outputs/lesson05, git-ignored: models, MLflow store, figures
show = figure_shower(OUTPUTS)  # show(fig, name): saved there as name.png, then displayed

DATA = OUTPUTS / f"cifar10-{TRAIN_PER_CLASS}-{VAL_PER_CLASS}"


# DATA/train/<class>: the first TRAIN_PER_CLASS of CIFAR-10 train/; DATA/val/<class>: the first
# VAL_PER_CLASS of test/ (split: (from split, offset, count))
link_subset(CIFAR10, DATA, {"train": ("train", 0, TRAIN_PER_CLASS), "val": ("test", 0, VAL_PER_CLASS)})
classes = sorted(p.name for p in (DATA / "train").iterdir())
print(f"{DATA}: {len(classes)} classes, {TRAIN_PER_CLASS} train + {VAL_PER_CLASS} val images each")

fig, axes = plt.subplots(2, 10, figsize=(12, 2.8))
for column, name in enumerate(classes):
    for row, image_path in enumerate(sorted((DATA / "train" / name).iterdir())[:2]):
        axes[row, column].imshow(plt.imread(image_path))
        axes[row, column].axis("off")
    axes[0, column].set_title(name, fontsize=8)
fig.suptitle("CIFAR-10: 32 x 32 photos, ten classes")
show(fig, "samples")

# %% [markdown]
# ## 2. Which architecture?
#
# If you ran lesson 4, its search wrote `outputs/lesson04/<full or fast>/soft/summary.json` with the
# child of highest reward: we train that one (the full-mode search's when there is one). Otherwise
# we train the search space's skeleton, MnasNet-B1 at width 0.5 adapted to 32 px images (the same
# string `search_mini` starts from). Either way it is just a string.

# %%
import json

from mnas.models import count_macs, count_params, create_model
from mnas.search.space import SearchSpace

summaries = [Path("outputs") / "lesson04" / mode / "soft" / "summary.json" for mode in ("full", "fast")]
search_summary = next((p for p in summaries if p.is_file() and json.loads(p.read_text()).get("best")), None)
if search_summary:
    arch = json.loads(search_summary.read_text())["best"]["arch"]
    origin = f"the best child of lesson 4's search ({search_summary})"
else:
    arch = SearchSpace().skeleton_arch()
    origin = "the search space's skeleton (MnasNet-B1 x0.5 at 32 px): run lesson 4 for a searched one"
model = create_model(arch, num_classes=len(classes), input_size=32)
print(f"training {origin}:\n  " + arch.replace(", ", ",\n  "))
print(f"{count_params(model):,} parameters, {count_macs(model, 32) / 1e6:.1f}M MACs at 32 px")

# %% [markdown]
# ## 3. MLflow without a server
#
# Ikomia's training tasks log parameters and metrics to MLflow, and by default start an MLflow server
# (and TensorBoard) to receive them. On a laptop in a classroom we want no background servers:
# `mnas_ikomia.tracking.use_file_store` sends everything to a plain folder instead (a `file://` store).
# You can browse it later with `mlflow ui --backend-store-uri outputs/lesson05/mlruns`.

# %%
os.environ.setdefault("IKOMIA_AUTO_COMPLETION", "0")  # do not rewrite ikomia's files in site-packages
from mnas_ikomia.tracking import use_file_store

tracking_uri = use_file_store(OUTPUTS / "mlruns")
print("MLflow tracking URI:", tracking_uri)

# %% [markdown]
# ## 4. The workflow: a folder in, a trained model out
#
# A workflow has one input, the dataset folder, and one task. Parameters are strings, as everywhere in
# Ikomia. `arch` replaces `model_name` when it is given. We train from scratch at 32 px with SGD and a
# cosine learning-rate schedule; `output_folder` is where the model file goes.

# %%
import time

import torch
from ikomia.core import IODataType
from ikomia.dataprocess import CPathIO
from ikomia.dataprocess.workflow import Workflow

torch.set_num_threads(1)  # one core: the latency setting of the paper, and kind to a shared laptop
run_folder = OUTPUTS / "model"
workflow = Workflow()
workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(DATA.resolve())))
train_task = workflow.add_task(name="train_mnasnet", auto_connect=True)
train_task.set_parameters({
    "arch": arch, "input_size": "32", "epochs": str(EPOCHS), "batch_size": "32",
    "learning_rate": "0.05", "warmup_epochs": "0", "output_folder": str(run_folder.resolve()),
    "overwrite": "True",  # rerunning the lesson replaces its previous model (without it: refused)
})
print({k: v for k, v in train_task.get_parameters().items() if k != "arch"})

start = time.perf_counter()
workflow.run()
train_seconds = time.perf_counter() - start
outcome = train_task.outcome  # what the task wrote: model file, class file, history, curves
print(f"trained {EPOCHS} epochs on {outcome.num_train} images in {train_seconds:.0f} s; "
      f"validation top-1 {outcome.result.final.top1:.1%} on {outcome.num_val} images")
for name, path in outcome.files.items():
    print(f"  {name:<8} {path}")

# %% [markdown]
# ## 5. Reading the metrics back from MLflow
#
# The task logged each epoch's metrics with `log_metrics`. We read them back with MLflow's own client,
# exactly as any dashboard would: the run's parameters (the task's strings) and the history of each
# metric.

# %%
from mlflow.tracking import MlflowClient

client = MlflowClient(tracking_uri)
experiment_ids = [e.experiment_id for e in client.search_experiments()]
run = client.search_runs(experiment_ids, order_by=["attributes.start_time DESC"], max_results=1)[0]
print("run", run.info.run_id, "status", run.info.status)
print("logged parameters:", {k: run.data.params[k] for k in ("epochs", "learning_rate", "input_size")
                             if k in run.data.params})


def metric_history(name: str) -> tuple[list[int], list[float]]:
    points = sorted(client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)
    return [m.step for m in points], [m.value for m in points]


fig, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
for name in ("train_loss", "val_loss"):
    loss_axis.plot(*metric_history(name), marker="o", label=name)
for name in ("top1", "top5"):
    accuracy_axis.plot(*metric_history(name), marker="o", label=name)
loss_axis.set(xlabel="epoch", title="loss (from MLflow)")
accuracy_axis.set(xlabel="epoch", ylim=(0, 1), title="validation accuracy (from MLflow)")
accuracy_axis.axhline(0.1, color="grey", linestyle=":", label="chance (10 classes)")
loss_axis.legend()
accuracy_axis.legend()
fig.tight_layout()
show(fig, "mlflow_curves")

# %% [markdown]
# The last epoch also logged one accuracy per class (`class_top1/<name>`). After a short run on few
# images the accuracy is very uneven across classes: look at which ones are above chance here.

# %%
per_class = {name: metric_history(f"class_top1/{name}")[1][-1] for name in classes}
fig = plt.figure(figsize=(8, 2.8))
plt.bar(list(per_class), list(per_class.values()), color="tab:green")
plt.axhline(0.1, color="grey", linestyle=":")
plt.xticks(rotation=45)
plt.ylabel("top-1")
plt.title("validation accuracy per class, last epoch")
plt.tight_layout()
show(fig, "per_class")
print(f"easiest: {max(per_class, key=per_class.get)}, hardest: {min(per_class, key=per_class.get)}")

# %% [markdown]
# ## 6. What the model file carries
#
# `model.pth` holds the weights *and* the architecture string, the class names, the input size and the
# normalisation, so the next lesson needs nothing else to use it. Loading it rebuilds the network from
# the string and checks the weights fit.

# %%
from mnas.weights import load_model_file

trained, info = load_model_file(outcome.files["model"])
print("architecture string preserved:", trained.arch == arch)
print({k: info[k] for k in ("class_names", "input_size") if k in info})

# %% [markdown]
# ## Exercises
#
# 1. Train the same string with `"optimizer": "rmsprop"` (the paper's optimizer). RMSProp's step
#    size is not SGD's: try `"learning_rate"` 0.005, 0.01 and 0.02 (SGD's 0.05 is too large for it)
#    with the same number of epochs. Read the runs from MLflow and plot their `top1` curves on one
#    figure: which learns faster on this little data, at its best learning rate?
# 2. Halve and double `TRAIN_PER_CLASS` (100 images per class in fast mode, 500 in full mode) and keep
#    `EPOCHS`. How much does validation accuracy gain per doubling of the data, and how much longer
#    does an epoch take (`epoch_time_s` in MLflow)?
# 3. Give `train_mnasnet` a broken string, e.g. replace `k3` by `k4` in `arch`. Where is the error
#    raised, what does the message name, and can you still run the workflow after fixing it?
