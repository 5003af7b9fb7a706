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
# # Lesson 6 — Inference in an Ikomia workflow, ONNX Runtime, and shipping the model
#
# A trained network is only useful once it runs where the images are. This lesson takes the model
# file of lesson 5 and
#
# 1. classifies CIFAR-10 test images and a real photo with the `infer_mnasnet` task in a workflow,
#    drawing the results on the images;
# 2. exports it to ONNX and compares ONNX Runtime with eager PyTorch, at batch 1 on this CPU — the
#    way MnasNet's latency is defined;
# 3. lists what to ship, and checks that a fresh workflow given *only* the model file reproduces the
#    answers.
#
# **Objectives.** After this lesson you can
#
# * classify whole images with `infer_mnasnet` given only a model file, and draw its answers;
# * measure ONNX Runtime against eager PyTorch at batch 1, the way the search timed its children;
# * say what to ship for a runtime with and without PyTorch, and check a deployment reproduces the
#   answers.
#
# **Lesson time:** measured on the project's 2-core machine in fast mode (the test suite) and in full
# mode (the teacher's edition): `docs/lessons.md`, "Lesson times", in the repository.

# %% tags=["parameters"]
import os

FAST = os.environ.get("MNAS_FAST", "0") == "1"  # the test suite runs every lesson in fast mode

TEST_PER_CLASS = 4 if FAST else 50     # CIFAR-10 test images per class to classify
LATENCY_REPEATS = 15 if FAST else 100  # timed calls per backend (after warm-up), median reported

# %% [markdown]
# ## 1. The model to deploy
#
# Lesson 5 wrote `outputs/lesson05/model/model.pth`. If you have not run it, we train a stand-in here
# with the same engine (`mnas.train.job`, what `train_mnasnet` runs) on a small CIFAR-10 subset, so
# this lesson also stands on its own. A model trained for a minute or two (lesson 5 in fast mode, or
# the stand-in) is barely better than chance, and its mistakes below are expected: this lesson is
# about the plumbing, which is the same for a well-trained model (lesson 5 in full mode).

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from mnas.data import cifar10_root
from mnas.lessons import figure_shower, lesson_outputs

torch.set_num_threads(1)  # one core: the latency setting of the paper, and kind to a shared laptop
CIFAR10 = cifar10_root()
OUTPUTS = lesson_outputs(6)  # outputs/lesson06, git-ignored: stand-in model, deployment folder, figures
show = figure_shower(OUTPUTS)  # show(fig, name): saved there as name.png, then displayed

model_file = Path("outputs") / "lesson05" / "model" / "model.pth"
if not model_file.is_file():
    from mnas.search.space import SearchSpace
    from mnas.train import TrainConfig
    from mnas.train import TrainJob, run_training_job

    job = TrainJob(data=str(CIFAR10), model=SearchSpace().skeleton_arch(),
                   output_folder=str(OUTPUTS / "stand-in"), limit_per_class=60, overwrite=True,
                   config=TrainConfig(epochs=2, batch_size=32, input_size=32))
    model_file = run_training_job(job).files["model"]
print("model file:", model_file, f"({model_file.stat().st_size / 1e6:.1f} MB)")

# %% [markdown]
# ## 2. `infer_mnasnet` in a workflow, given only the model file
#
# The model file carries the architecture string, the class names, the input size and the
# normalisation, so `model_weight_file` is the only parameter we set. `run_on(array=...)` feeds one
# RGB image; the task's whole-image result is every class with its confidence, best first.

# %%
import logging

os.environ.setdefault("IKOMIA_AUTO_COMPLETION", "0")  # do not rewrite ikomia's files in site-packages
from ikomia.dataprocess.workflow import Workflow

logging.getLogger("ikomia.dataprocess.workflow").setLevel(logging.WARNING)  # no line per image run

workflow = Workflow()
infer = workflow.add_task(name="infer_mnasnet", auto_connect=True)
infer.set_parameters({"model_weight_file": str(model_file.resolve()), "cuda": "False"})


def classify(image: np.ndarray) -> tuple[str, float]:
    """Run the workflow on one image; the task's best (class name, confidence)."""
    workflow.run_on(array=np.ascontiguousarray(image))
    name, confidence = infer.get_whole_image_results()[0]  # [(name, confidence as text), ...] best first
    return name, float(confidence)


test_images, test_labels = [], []
for class_dir in sorted(p for p in (CIFAR10 / "test").iterdir() if p.is_dir()):
    # the last images of each class: lesson 5 validated on the first ones
    for path in sorted(class_dir.iterdir())[-TEST_PER_CLASS:]:
        test_images.append(plt.imread(path))
        test_labels.append(class_dir.name)
predictions = [classify(image) for image in test_images]
accuracy = np.mean([name == label for (name, _), label in zip(predictions, test_labels)])
print(f"top-1 on {len(test_images)} CIFAR-10 test images: {accuracy:.1%} (chance: 10%)")
print("backend chosen by the task:", infer.classifier.backend_reason)

# %% [markdown]
# Each image with the task's answer drawn on it: green when right, red when wrong, with the confidence.

# %%
shown = min(20, len(test_images))
picks = np.linspace(0, len(test_images) - 1, shown).round().astype(int)
fig, axes = plt.subplots(2, shown // 2, figsize=(shown * 0.65, 3.4))
for axis, index in zip(axes.flat, picks):
    name, confidence = predictions[index]
    axis.imshow(test_images[index])
    axis.set_title(f"{name}\n{confidence:.0%}", fontsize=7,
                   color="tab:green" if name == test_labels[index] else "tab:red")
    axis.axis("off")
fig.suptitle("infer_mnasnet on CIFAR-10 test images (title: prediction, confidence)")
fig.tight_layout()
show(fig, "cifar_predictions")

# %% [markdown]
# ## 3. A real photo
#
# `skimage.data.chelsea()` is a 451 x 300 photo of a cat — and *cat* is one of CIFAR-10's classes. The
# task resizes it to the model's 32 x 32 input itself. Ikomia can also draw a classification result on
# the image it forwards (`get_image_with_graphics`); below we show that image next to the full list of
# confidences.

# %%
from skimage import data as skimage_data

photo = skimage_data.chelsea()
classify(photo)
names, confidences = zip(*infer.get_whole_image_results())
drawn = infer.get_image_with_graphics()
fig, (image_axis, bar_axis) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.3, 1]})
image_axis.imshow(drawn)
image_axis.set_title(f"skimage chelsea: {names[0]} ({float(confidences[0]):.0%})")
image_axis.axis("off")
bar_axis.barh(names[::-1], [float(c) for c in confidences[::-1]], color="tab:blue")
bar_axis.set_xlim(0, 1)
bar_axis.set_title("confidence per class")
fig.tight_layout()
show(fig, "photo")

# %% [markdown]
# ## 4. ONNX Runtime versus eager PyTorch
#
# The task chose its backend itself (printed above): on a CPU, `backend=auto` exports the model to
# ONNX once, checks that ONNX Runtime gives the same probabilities as PyTorch on a probe batch, and
# then uses it. ONNX Runtime fuses batch norm into the convolutions and runs a graph planned ahead,
# where eager PyTorch dispatches every layer from Python.
#
# We time both the same way as the search measures a child (`mnas.latency.meter.measure_latency`): batch 1,
# one thread (the paper used one phone core), warm-up, median of repeats. We do it at the model's own
# 32 px and for MnasNet-B1 1.0 at 224 px (weights do not change the time, so random ones do).
# *The machine may be busy with other work: compare the two backends of one row, measured back to back,
# rather than absolute times.*

# %%
from mnas.latency import measure_latency
from mnas.models import create_model
from mnas.weights import load_model_file

trained, model_info = load_model_file(model_file)
cases = {f"trained model, {model_info['input_size']} px": (trained, model_info["input_size"]),
         "mnasnet1_0, 224 px": (create_model("mnasnet1_0"), 224)}
timings = {}
for label, (net, size) in cases.items():
    timings[label] = {engine: measure_latency(net, size, engine=engine, threads=1, repeats=LATENCY_REPEATS)
                      for engine in ("torch", "onnxruntime")}
    torch_ms, ort_ms = (timings[label][e].median_ms for e in ("torch", "onnxruntime"))
    print(f"{label:<26} torch {torch_ms:7.2f} ms   onnxruntime {ort_ms:7.2f} ms   "
          f"ratio {torch_ms / ort_ms:4.1f}x")

fig, axes = plt.subplots(1, len(cases), figsize=(10, 3.2))
for axis, (label, by_engine) in zip(axes, timings.items()):
    axis.boxplot([by_engine[e].samples_ms for e in by_engine], showfliers=False)
    axis.set_xticks([1, 2], list(by_engine))
    axis.set(title=label, ylabel="ms per image (batch 1, 1 thread)")
fig.tight_layout()
show(fig, "latency")

# %% [markdown]
# ## 5. What to ship
#
# To run the model elsewhere you need **one file**:
#
# * `model.pth` — weights, architecture string, class names, input size, mean and std. Enough for
#   `infer_mnasnet` (with PyTorch and this project's `mnas` package installed). It loads with
#   `torch.load(..., weights_only=True)`: no code inside, safe to receive.
# * `classes.txt` is written beside it for tools that want the names as text; `infer_mnasnet` does not
#   need it when the model file carries the names.
# * Optionally an **ONNX** file (`train_mnasnet` with `export_onnx=True`, or `mnas.runtime`), for a
#   runtime with no PyTorch at all: ONNX Runtime, on a phone, in a browser. Then the pre-processing
#   (resize, scale to [0, 1], normalise with the mean and std) must be done by the caller.
#
# We export the ONNX file into a "deployment" folder and check the two claims: a **fresh** workflow
# with only `model_weight_file` gives the same answers, and plain ONNX Runtime, fed by the project's
# pre-processing `mnas.preprocess` (one OpenCV resize, then numpy: scale, normalise, transpose; no
# PyTorch), agrees with it. A runtime with no OpenCV either needs its own resize, which must match
# this one (same interpolation) for the answers to stay the same.

# %%
import shutil

import onnxruntime

from mnas.preprocess import preprocess
from mnas.runtime import export_onnx

deploy = OUTPUTS / "deploy"
deploy.mkdir(parents=True, exist_ok=True)
shutil.copy2(model_file, deploy / "model.pth")
export_onnx(trained, model_info["input_size"], deploy / "model.onnx")
for path in sorted(deploy.iterdir()):
    print(f"  {path.name:<12} {path.stat().st_size / 1e6:6.2f} MB")

fresh = Workflow()
fresh_task = fresh.add_task(name="infer_mnasnet", auto_connect=True)
fresh_task.set_parameters({"model_weight_file": str((deploy / "model.pth").resolve()), "cuda": "False"})
session = onnxruntime.InferenceSession(str(deploy / "model.onnx"), providers=["CPUExecutionProvider"])
same_workflow = same_onnx = 0
for image, (expected, _) in zip(test_images, predictions):
    fresh.run_on(array=np.ascontiguousarray(image))
    same_workflow += fresh_task.get_whole_image_results()[0][0] == expected
    batch = preprocess(image, model_info["input_size"], model_info["mean"], model_info["std"])
    logits = session.run(None, {session.get_inputs()[0].name: batch})[0]
    same_onnx += model_info["class_names"][int(logits.argmax())] == expected
print(f"fresh workflow, model file only: {same_workflow}/{len(test_images)} answers identical")
print(f"bare ONNX Runtime + mnas.preprocess (OpenCV resize, numpy): {same_onnx}/{len(test_images)} "
      "answers identical")

# %% [markdown]
# ## Exercises
#
# 1. Run section 4 with `threads=2`. Which backend gains more from a second core at 32 px, and at
#    224 px? Why might a small input gain little?
# 2. Set `"int8": "True"` on the task (the model file names its training data, used to calibrate).
#    Compare its answers and its latency with the float model on the same test images.
# 3. Classify `skimage.data.astronaut()` and `skimage.data.coffee()`. None of CIFAR-10's classes fits:
#    what does the model answer, how confident is it, and what does that say about softmax confidences?
#
# ## Summary
#
# * A model file (`model.pth`) carries weights, architecture string, classes, input size and
#   normalisation: `infer_mnasnet` needs nothing else, and it loads without running code.
# * The search timed children with ONNX Runtime at batch 1 on one thread because that is what is
#   shipped: the latency a search optimises must be the one users get.
# * A deployment is checked by reproducing the answers from the shipped files alone.
#
# ## References
#
# * M. Tan et al. *MnasNet: Platform-Aware Neural Architecture Search for Mobile.* CVPR 2019.
#   [arXiv:1807.11626](https://arxiv.org/abs/1807.11626)
# * ONNX Runtime: <https://onnxruntime.ai>; Ikomia API: <https://ikomia-dev.github.io/python-api-documentation/>
