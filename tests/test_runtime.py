"""ONNX Runtime path: same answers as torch on real images, a trustworthy export cache, int8."""

from __future__ import annotations

import json
import os
import shutil

import cv2
import numpy as np
import onnx
import pytest
import torch
import torchvision.transforms as T
from torch import nn

from mnas import runtime
from mnas.models import create_model

# a small network with every op kind the exporter must get right (regular conv, MBConv, SE, residual)
TINY_ARCH = ("r1_k3_s22_e1_i3_o16_conv, r2_k3_s11_e3_i16_o16_se0.25, r1_k5_s22_e6_i16_o24, "
             "r1_k1_s11_e1_i24_o64_conv")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
REFERENCE_TRANSFORM = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])


def reference_preprocess(rgb: np.ndarray, size: int) -> np.ndarray:
    """The torchvision path: cv2 resize, ToTensor, Normalize (what the public Ikomia task does)."""
    return REFERENCE_TRANSFORM(cv2.resize(rgb, (size, size))).numpy()


def photos() -> list[np.ndarray]:
    import skimage.data

    return [skimage.data.astronaut(), skimage.data.chelsea(), skimage.data.coffee(), skimage.data.rocket()]


def cifar_test_images(root, count: int) -> list[np.ndarray]:
    classes = sorted(p for p in (root / "test").iterdir() if p.is_dir())
    files = [sorted(c.glob("*.jpg"))[0] for c in classes][:count]
    return [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]


def decisive_model(name: str, num_classes: int, input_size: int, seed: int = 0) -> nn.Module:
    """A model whose outputs are far from uniform: random BN statistics and a wide classifier, so
    that confidences and top-1 are meaningful to compare (fresh init gives near-uniform softmax)."""
    torch.manual_seed(seed)
    model = create_model(name, num_classes=num_classes, input_size=input_size)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    nn.init.normal_(model.classifier.weight, 0, 0.5)
    return model.eval()


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "onnx-cache"


@pytest.fixture
def count_exports(monkeypatch):
    """Count real calls to the exporter (it still runs: the files it writes are used)."""
    calls = []
    real_export = runtime.export_onnx

    def counted(*args, **kwargs):
        calls.append(args)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(runtime, "export_onnx", counted)
    return calls


@pytest.mark.parametrize("name, num_classes, size, source", [
    ("mnasnet0_5", 1000, 224, "photos"),
    ("mnasnet_a1", 10, 32, "cifar"),
])
@pytest.mark.slow
def test_onnxruntime_gives_torch_top1_and_confidences(name, num_classes, size, source, cache_dir,
                                                      cifar10_root):
    images = photos() if source == "photos" else cifar_test_images(cifar10_root, 10)
    batch = stack_images([reference_preprocess(image, size) for image in images])
    model = decisive_model(name, num_classes, size)
    torch_probs = runtime.TorchBackend(model).probabilities(batch)
    onnx_backend = runtime.OnnxRuntimeBackend(runtime.onnx_model_path(model, size, cache_dir))
    onnx_probs = onnx_backend.probabilities(batch)
    assert torch_probs.max(axis=1).min() > 5 / num_classes  # decisive: the comparison means something
    assert (onnx_probs.argmax(axis=1) == torch_probs.argmax(axis=1)).all()
    np.testing.assert_allclose(onnx_probs, torch_probs, atol=1e-4, rtol=0)
    # one image at a time (the task's batch-1 path) gives the same numbers as the batch
    np.testing.assert_allclose(onnx_backend.probabilities(batch[:1]), onnx_probs[:1], atol=1e-6, rtol=0)


def test_export_cache_is_reused_and_invalidated_by_new_weights(cache_dir, count_exports):
    model = decisive_model(TINY_ARCH, 10, 32)
    first = runtime.onnx_model_path(model, 32, cache_dir)
    first_mtime = first.stat().st_mtime_ns
    assert len(count_exports) == 1

    again = runtime.onnx_model_path(decisive_model(TINY_ARCH, 10, 32), 32, cache_dir)
    assert again == first and len(count_exports) == 1
    assert first.stat().st_mtime_ns == first_mtime

    with torch.no_grad():
        model.classifier.bias.add_(1.0)
    changed = runtime.onnx_model_path(model, 32, cache_dir)
    assert changed != first and len(count_exports) == 2
    other_size = runtime.onnx_model_path(model, 64, cache_dir)
    assert other_size not in (first, changed) and len(count_exports) == 3
    batch = runtime.probe_batch(32)
    np.testing.assert_allclose(runtime.OnnxRuntimeBackend(changed).probabilities(batch),
                               runtime.TorchBackend(model).probabilities(batch), atol=1e-5)


def _truncate(path, _other):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_weight_bytes(path, _other):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(255 - b for b in data[middle:middle + 64])
    path.write_bytes(bytes(data))


def _garble_sidecar(path, _other):
    path.with_suffix(".json").write_text("{not json", encoding="utf-8")


def _another_models_pair(path, other):
    """A valid ONNX file with a self-consistent sidecar, but of another model."""
    shutil.copy(other, path)
    shutil.copy(other.with_suffix(".json"), path.with_suffix(".json"))


def _checker_rejects(path, _other):
    """Well-formed protobuf the checker refuses (an unknown opset), with a matching hash."""
    model = onnx.load(str(path))
    model.opset_import[0].version = 999
    onnx.save(model, str(path))
    sidecar = path.with_suffix(".json")
    record = json.loads(sidecar.read_text())
    record["sha256"] = runtime.file_sha256(path)
    sidecar.write_text(json.dumps(record))


@pytest.mark.parametrize("corrupt", [_truncate, _flip_weight_bytes, _garble_sidecar, _another_models_pair,
                                     _checker_rejects])
def test_corrupt_cache_file_is_rebuilt_not_trusted(corrupt, cache_dir, count_exports):
    model = decisive_model(TINY_ARCH, 10, 32, seed=1)
    other = runtime.onnx_model_path(decisive_model(TINY_ARCH, 10, 32, seed=2), 32, cache_dir)
    path = runtime.onnx_model_path(model, 32, cache_dir)
    good_bytes = path.read_bytes()
    corrupt(path, other)
    assert len(count_exports) == 2

    rebuilt = runtime.onnx_model_path(model, 32, cache_dir)
    assert rebuilt == path and len(count_exports) == 3
    assert path.read_bytes() == good_bytes  # the export is deterministic: the same file comes back
    batch = runtime.probe_batch(32)
    np.testing.assert_allclose(runtime.OnnxRuntimeBackend(path).probabilities(batch),
                               runtime.TorchBackend(model).probabilities(batch), atol=1e-5)
    assert not [p for p in cache_dir.iterdir() if p.name.endswith(".tmp")]  # nothing half-written


@pytest.fixture
def count_torch_checks(monkeypatch):
    calls = []
    real_check = runtime.max_probability_difference

    def counted(*args, **kwargs):
        calls.append(args)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(runtime, "max_probability_difference", counted)
    return calls


def test_auto_picks_onnxruntime_on_cpu_with_machine_threads(cache_dir, count_torch_checks):
    choice = runtime.create_backend(decisive_model(TINY_ARCH, 10, 32), 32, backend="auto",
                                    device="cpu", cache_dir=cache_dir)
    assert choice.backend.name == "onnxruntime", choice.reason
    assert len(count_torch_checks) == 1
    sidecar = json.loads(choice.backend.model_path.with_suffix(".json").read_text())
    assert 0 <= sidecar["torch_check"]["max_difference"] <= runtime.MATCH_TOLERANCE
    again = runtime.create_backend(decisive_model(TINY_ARCH, 10, 32), 32, cache_dir=cache_dir)
    assert again.backend.name == "onnxruntime" and len(count_torch_checks) == 1  # recorded, not rerun
    assert choice.backend.threads == len(os.sched_getaffinity(0))
    assert choice.backend.session.get_session_options().intra_op_num_threads == choice.backend.threads
    explicit = runtime.create_backend(decisive_model(TINY_ARCH, 10, 32), 32, backend="torch",
                                      cache_dir=cache_dir)
    assert explicit.backend.name == "torch"


class BranchesOnInput(nn.Module):
    """Python control flow on the data: tracing freezes the branch of the all-zero export example,
    so the exported graph disagrees with eager PyTorch on any other input."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3, 4)

    def forward(self, x):
        pooled = x.mean((2, 3))
        if bool(x.abs().sum() > 0):
            pooled = pooled * 3.0
        return self.head(pooled)


def test_auto_falls_back_to_torch_when_onnx_disagrees(cache_dir, caplog, count_torch_checks):
    model = BranchesOnInput().eval()
    with caplog.at_level("WARNING", logger="mnas.runtime"):
        choice = runtime.create_backend(model, 16, backend="auto", cache_dir=cache_dir)
    assert choice.backend.name == "torch"
    assert "differ" in choice.reason and choice.reason in caplog.text
    again = runtime.create_backend(model, 16, cache_dir=cache_dir)
    assert again.backend.name == "torch" and again.reason == choice.reason
    assert len(count_torch_checks) == 1


def test_auto_falls_back_to_torch_when_the_cache_folder_is_unusable(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the cache folder should be")
    model = decisive_model(TINY_ARCH, 10, 32)
    choice = runtime.create_backend(model, 32, cache_dir=not_a_folder / "onnx")
    assert choice.backend.name == "torch" and "no ONNX Runtime session" in choice.reason
    with pytest.raises(OSError):
        runtime.create_backend(model, 32, backend="onnxruntime", cache_dir=not_a_folder / "onnx")


@pytest.mark.slow
def test_int8_quantisation_gives_a_working_cached_session(cache_dir, cifar10_root, monkeypatch):
    images = cifar_test_images(cifar10_root, 10)
    calibration = stack_images([reference_preprocess(image, 32) for image in images[:6]])
    model = decisive_model("mnasnet0_5", 10, 32)
    choice = runtime.create_backend(model, 32, precision="int8", calibration=calibration,
                                    cache_dir=cache_dir)
    assert choice.backend.name == "onnxruntime" and "int8" in choice.reason
    graph = onnx.load(str(choice.backend.model_path)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    int8_weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(int8_weights) >= 20  # every conv's weights, per channel

    batch = stack_images([reference_preprocess(image, 32) for image in images])
    probs = choice.backend.probabilities(batch)
    assert probs.shape == (10, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    float_probs = runtime.TorchBackend(model).probabilities(batch)
    assert np.abs(probs - float_probs).max() < 0.5  # quantised, not broken (figures are in the bench)

    quantised = []
    monkeypatch.setattr(runtime, "quantize_int8", lambda *a, **k: quantised.append(a))
    again = runtime.create_backend(model, 32, precision="int8", calibration=calibration,
                                   cache_dir=cache_dir)
    assert again.backend.model_path == choice.backend.model_path and not quantised


def test_bad_requests_are_clear_errors(cache_dir):
    model = decisive_model(TINY_ARCH, 10, 32)
    with pytest.raises(ValueError, match="backend must be one of auto, torch, onnxruntime, got 'tensorrt'"):
        runtime.create_backend(model, 32, backend="tensorrt")
    with pytest.raises(ValueError, match="precision 'int8' runs on ONNX Runtime"):
        runtime.create_backend(model, 32, backend="torch", precision="int8",
                               calibration=runtime.probe_batch(32))
    with pytest.raises(ValueError, match="needs calibration images"):
        runtime.create_backend(model, 32, precision="int8")
    with pytest.raises(ValueError, match=r"calibration must be .*\(N, C, 32, 32\)"):
        runtime.int8_model_path(model, 32, runtime.probe_batch(64), cache_dir)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        runtime.create_backend(model, 32, threads=0)


# ---------------------------------------------------------------------------------------------------
# The lean pre-processing and the integration into Classifier / infer_mnasnet


@pytest.mark.parametrize("size, source", [(224, "photos"), (32, "cifar"), (96, "cifar")])
def test_lean_preprocessing_gives_the_torchvision_numbers(size, source, cifar10_root):
    from mnas.preprocess import Preprocessor, resize_image

    preprocessor = Preprocessor(size)
    for image in photos() if source == "photos" else cifar_test_images(cifar10_root, 4):
        reference = REFERENCE_TRANSFORM(resize_image(image, size)).numpy()[None]
        np.testing.assert_allclose(preprocessor(image), reference, atol=2e-6, rtol=0)


@pytest.fixture
def cifar_model_file(tmp_path, cifar10_root):
    """A 10-class model file that names CIFAR-10 as its training set, as train_mnasnet writes it."""
    from mnas.weights.model_file import save_model_file

    model = decisive_model("mnasnet0_5", 10, 32, seed=3)
    classes = sorted(p.name for p in (cifar10_root / "train").iterdir() if p.is_dir())
    path = save_model_file(tmp_path / "cifar.pt", model, class_names=classes, input_size=32,
                           metadata={"trained_on": str(cifar10_root)})
    return path, model


def run_infer_mnasnet(params: dict, image: np.ndarray):
    from ikomia.dataprocess.workflow import Workflow

    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    task.set_parameters({"cuda": "False", **params})
    workflow.run_on(array=image)
    return workflow, task


def ranked_confidences(task) -> tuple[list[str], np.ndarray]:
    results = task.get_whole_image_results()
    return [name for name, _ in results], np.array([float(conf) for _, conf in results])


@pytest.mark.slow
def test_infer_mnasnet_defaults_to_onnxruntime_with_torch_answers(cifar_model_file, cifar10_root):
    path, model = cifar_model_file
    image = cifar_test_images(cifar10_root, 1)[0]
    workflow, task = run_infer_mnasnet({"model_weight_file": str(path)}, image)
    assert task.get_parameters()["backend"] == "auto"
    assert task.classifier.backend.name == "onnxruntime", task.classifier.backend_reason
    names, confidences = ranked_confidences(task)
    expected = runtime.TorchBackend(model).probabilities(task.classifier.preprocess(image))[0]
    assert expected.max() > 0.25  # decisive (uniform is 0.1)
    assert names[0] == task.classifier.class_names[int(expected.argmax())]
    np.testing.assert_allclose(confidences, np.sort(expected)[::-1], atol=1e-4, rtol=0)

    task.set_parameters({"backend": "torch"})  # a parameter change reloads, on the backend asked for
    workflow.run_on(array=image)
    assert task.loads == 2 and task.classifier.backend.name == "torch"
    np.testing.assert_allclose(ranked_confidences(task)[1], confidences, atol=1e-4, rtol=0)
    with pytest.raises(RuntimeError, match="backend must be one of auto, torch, onnxruntime, got 'tvm'"):
        task.set_parameters({"backend": "tvm"})
    assert task.get_parameters()["backend"] == "torch"  # a bad value leaves the parameters intact


@pytest.mark.slow
def test_infer_mnasnet_int8_calibrates_on_the_dataset_the_model_file_names(cifar_model_file, cifar10_root,
                                                                           tmp_path):
    path, model = cifar_model_file
    images = cifar_test_images(cifar10_root, 10)
    workflow, task = run_infer_mnasnet({"model_weight_file": str(path), "int8": "True"}, images[0])
    assert "int8" in task.classifier.backend_reason
    assert f"{runtime.CALIBRATION_IMAGES} images" in task.classifier.backend_reason
    int8_probs = task.classifier.predict(images)
    float_probs = runtime.TorchBackend(model).probabilities(task.classifier.preprocess(images))
    assert np.allclose(int8_probs.sum(axis=1), 1, atol=1e-5)
    assert (int8_probs.argmax(axis=1) == float_probs.argmax(axis=1)).mean() >= 0.5  # quantised, not broken

    other_model = decisive_model("mnasnet0_5", 10, 32, seed=4)
    from mnas.weights.model_file import save_model_file

    no_dataset = save_model_file(tmp_path / "no_dataset.pt", other_model, class_names=list("abcdefghij"),
                                 input_size=32)
    task.set_parameters({"model_weight_file": str(no_dataset)})
    with pytest.raises(RuntimeError, match="int8 needs calibration_folder"):
        workflow.run_on(array=images[0])
    task.set_parameters({"calibration_folder": str(tmp_path / "absent")})
    with pytest.raises(RuntimeError, match="calibration_folder '.*absent' is not a folder"):
        workflow.run_on(array=images[0])
    task.set_parameters({"int8": "False"})  # the workflow is usable again
    workflow.run_on(array=images[0])
    assert task.classifier.backend.name == "onnxruntime" and "int8" not in task.classifier.backend_reason


def test_calibration_files_take_classes_in_turn(cifar10_root):
    files = runtime.calibration_files(cifar10_root, 25)
    assert len(files) == 25 and all(f.parent.parent.name == "train" for f in files)
    assert [f.parent.name for f in files[:10]] == sorted(p.name for p in (cifar10_root / "train").iterdir())
    assert len({f.parent.name for f in files}) == 10


def stack_images(images) -> np.ndarray:
    """Preprocessed (1, C, H, W) or (C, H, W) images as one contiguous float32 batch."""
    return np.ascontiguousarray(np.stack([image[0] if image.ndim == 4 else image for image in images]),
                                dtype=np.float32)
