"""The surrogate benchmark's build: reference families as intended, a fixed de-aliased plan, and a build
that resumes after a kill with no training lost or repeated (real CIFAR-10, a real killed process)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import torchvision

from mnas.arch import network_signature, parse_arch
from mnas.models import create_model
from mnas.search.recipe import RECIPE_F, Recipe
from mnas.search.references import REFERENCE_WIDTHS, family_arch
from mnas.search.space import SearchSpace
from mnas.search.surrogate.acceptance import HELD_OUT_RANDOMS, HELD_OUT_TRAJECTORIES
from mnas.search.surrogate.build import BUILD_FILE, RUNS_LOG, BuildPlan, build_surrogate


def _convs(model):
    """(weight shape, stride) of every conv and linear layer, in order."""
    return [(tuple(m.weight.shape), getattr(m, "stride", None)) for m in model.modules()
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]


# torchvision's MobileNetV2 table with the 32- and 160-channel stages unstrided, as ours is for 32 px
TORCHVISION_32PX = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 1], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 1],
                    [6, 320, 1, 1]]


@pytest.mark.slow
@pytest.mark.parametrize("width", REFERENCE_WIDTHS)
def test_mobilenetv2_string_builds_torchvisions_network_at_32px(width):
    arch = family_arch("mobilenetv2", width)
    ours = create_model(arch, num_classes=10, input_size=32)
    reference = torchvision.models.mobilenet_v2(num_classes=10, width_mult=width,
                                                inverted_residual_setting=TORCHVISION_32PX)
    assert _convs(ours) == _convs(reference)          # every conv (shape and stride) and the classifier
    layers = [layer for block in parse_arch(arch) for layer in block.layers()]
    assert len(layers) == 1 + 17 + 1                   # stem, MobileNetV2's 17 bottlenecks, head
    assert [layer.stride for layer in layers].count(2) == 3    # stem + 2 of the 4 strided stages: stride 8
    shortcuts = [m.use_res_connect for m in reference.modules() if hasattr(m, "use_res_connect")]
    assert [layer.has_residual for layer in layers[1:-1]] == shortcuts
    assert ours(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert ours.features(torch.zeros(1, 3, 32, 32)).shape[-1] == 4


def test_b1_family_is_the_search_skeleton_and_families_are_checked():
    assert family_arch("b1", 0.5) == SearchSpace(width=0.5).skeleton_arch()
    with pytest.raises(ValueError, match="reference family 'resnet'"):
        family_arch("resnet", 1.0)
    with pytest.raises(ValueError, match="width must be > 0"):
        family_arch("b1", 0)


def test_network_signature_counts_aliases_once():
    space = SearchSpace(width=0.5)
    skeleton = space.skeleton_decisions()
    # block 0 has one layer: -1 layers is clamped to 1; its 16 x 0.5 x 0.75 filters round to 8 as x 1.0 do
    aliases = [dict(skeleton, b0_layers=-1), dict(skeleton, b0_filters=0.75),
               # block 6 is one layer from 96 to 160 channels: no identity shortcut can exist
               dict(skeleton, b6_skip="identity")]
    assert {network_signature(space.arch(d)) for d in aliases} == {network_signature(space.arch(skeleton))}
    different = dict(skeleton, b6_skip="pool")                 # a projection shortcut: another network
    assert network_signature(space.arch(different)) != network_signature(space.arch(skeleton))


def test_plan_is_fixed_de_aliased_and_spreads_the_references():
    space, plan = SearchSpace(width=0.5), BuildPlan()
    stage_a, stage_b = plan.jobs("A", space), plan.jobs("B", space)
    assert [(j.arch, j.seed) for j in stage_a] == [(j.arch, j.seed) for j in BuildPlan().jobs("A", space)]
    randoms = [j for j in stage_a if j.role == "random"]
    first_seeds = [j for j in randoms if j.seed == 0]
    assert len(first_seeds) == 400 and len(randoms) == 400 + 40 * 2
    signatures = {network_signature(j.arch) for j in first_seeds}
    assert len(signatures) == 400
    assert not signatures & {network_signature(j.arch) for j in stage_b}     # stage B: 400 other networks
    references = [j for j in stage_a if j.role == "reference"]
    assert len(references) == 2 * 4 * 3 and {(j.family, j.width) for j in references} == {
        (f, w) for f in ("b1", "mobilenetv2") for w in REFERENCE_WIDTHS}
    positions = [n for n, j in enumerate(stage_a) if j.role == "reference"]
    assert positions[7] < len(stage_a) // 3                   # every reference once within the first third
    assert all(j.time_it == (j.seed == 0) for j in stage_a)
    with pytest.raises(ValueError, match="stage 'C'"):
        plan.jobs("C", space)


def test_stage_b_reaches_the_held_out_counts_together():
    """Trajectory networks interleave at the acceptance's ratio: both held-out counts are reached after
    the fewest trainings, and every planned network comes once."""
    space, plan = SearchSpace(width=0.5), BuildPlan()
    trajectories = [{"decisions": d} for d in plan.random_decisions(space, 150)]
    jobs = plan.jobs("B", space, trajectories)
    assert len(jobs) == 400 + 150 and len({(j.arch, j.seed) for j in jobs}) == 550
    first = jobs[:HELD_OUT_RANDOMS + HELD_OUT_TRAJECTORIES]
    assert sum(j.role == "random" for j in first) == HELD_OUT_RANDOMS
    assert sum(j.role == "trajectory" for j in first) == HELD_OUT_TRAJECTORIES


def test_recipe_f_is_the_final_recipe():
    config = RECIPE_F.search_config()
    assert (config.proxy_epochs, config.train_images, config.val_images, config.batch_size) == (3, 10_000, 5_000, 32)
    assert config.train_config(0).epochs == 3


TINY_RECIPE = Recipe("tiny", epochs=1, train_images=40, val_images=20, batch_size=16, lr=0.02)
TINY_PLAN = BuildPlan(randoms_per_stage=5, repeat_every=3, repeat_seeds=2, reference_seeds=1,
                      reference_widths=(0.35,), reference_every=2)
METER = {"latency_rounds": 3, "latency_burst": 2}

_KILLED_BUILD = """
import sys, time
from mnas.search.surrogate.build import build_surrogate
from tests.test_surrogate import METER, TINY_PLAN, TINY_RECIPE
build_surrogate(sys.argv[1], sys.argv[2], plan=TINY_PLAN, recipe=TINY_RECIPE, **METER,
                on_run=lambda run, number, planned: time.sleep(30) if number == 3 else None)
"""


def _runs(folder):
    return [json.loads(line) for line in (folder / RUNS_LOG).read_text().splitlines()]


@pytest.mark.slow
def test_build_resumes_after_a_kill_with_no_training_lost_or_repeated(tmp_path, cifar10_root, one_thread):
    folder = tmp_path / "build"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(os.path.dirname(os.path.dirname(__file__)))}
    killed = subprocess.Popen([sys.executable, "-c", _KILLED_BUILD, str(cifar10_root), str(folder)], env=env)
    deadline = time.monotonic() + 240
    log = folder / RUNS_LOG
    while time.monotonic() < deadline and not (log.is_file() and log.read_bytes().count(b"\n") >= 3):
        time.sleep(0.5)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert len(_runs(folder)) == 3
    build_surrogate(cifar10_root, folder, plan=TINY_PLAN, recipe=TINY_RECIPE, **METER)
    runs = _runs(folder)
    planned = TINY_PLAN.jobs("A", SearchSpace(width=0.5))
    assert [(r["arch"], r["seed"], r["role"]) for r in runs] == [(j.arch, j.seed, j.role) for j in planned]
    assert len(planned) == 5 + 2 + 2     # 5 random (indices 0 and 3 with 2 seeds), B1 and MobileNetV2 x0.35
    for run, job in zip(runs, planned):
        assert 0 <= run["accuracy"] <= 1 and run["macs"] > 0 and run["train_seconds"] > 0
        assert ("latency" in run) == job.time_it
        if job.time_it:
            assert set(run["latency"]) == {"onnxruntime", "torch"}
            assert all(timed["ratio"] > 0 for timed in run["latency"].values())
    build = json.loads((folder / BUILD_FILE).read_text())
    assert len(build["sessions"]) == 2 and build["sessions"][0]["cpu"]
    with pytest.raises(ValueError, match="other settings"):
        build_surrogate(cifar10_root, folder, plan=TINY_PLAN, recipe=RECIPE_F, **METER)
    assert build_surrogate(cifar10_root, folder, plan=TINY_PLAN, recipe=TINY_RECIPE, **METER) == runs
