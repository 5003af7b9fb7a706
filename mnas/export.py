"""``mnas export <model file> --format executorch``: a trained model for phones, checked and timed.

ExecuTorch is PyTorch's on-device runtime (Android, iOS, microcontrollers): the network goes through
``torch.export`` and is lowered to XNNPACK, the CPU kernel library that phone runtimes run on (LiteRT's
too), into one ``.pte`` file that the ExecuTorch runtime loads as it is on a phone. It is the format
chosen because it is the PyTorch-native path (no second framework, no ONNX detour), and its Python
package runs the very file a phone would, so the export is checked here rather than assumed; LiteRT's
converter (``ai-edge-torch``) is not installable for this Python here, and OpenVINO targets Intel
machines, not phones.

The export is verified, not trusted: the torch model and the exported program classify the same real
images (``--images``: files or folders), and the report gives the largest logit difference, the top-1
agreement and how many images they rest on. Both runtimes' latency is then measured at batch 1 on one
thread beside ONNX Runtime's (the runtime ``infer_mnasnet`` ships), in alternating rounds (the fastest
call of each burst; the per-round ratio's median), since on a shared machine only ratios measured
together are comparable. The ``.pte`` and its report (``<name>.json``) are written atomically.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch

from mnas.latency.meter import forward_call, time_calls, torch_threads
from mnas.utils.fileio import atomic_path, atomic_write_text

FORMATS = ("executorch",)
LOGIT_TOLERANCE = 1e-3  # fp32 XNNPACK kernels reorder sums: differences of ~1e-5 are expected, 1e-3 is a bug


def _executorch():
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower
        from executorch.runtime import Runtime
    except ImportError as error:
        raise ImportError("export --format executorch needs ExecuTorch: pip install 'mnasnet-ikomia[export]' "
                          "(or executorch==1.5.1)") from error
    return to_edge_transform_and_lower, XnnpackPartitioner, Runtime


def export_executorch(model: torch.nn.Module, input_size: int, path: str | Path) -> Path:
    """Lower `model` (eval mode, batch 1, fp32) to XNNPACK and write the ``.pte`` atomically."""
    to_edge_transform_and_lower, XnnpackPartitioner, _ = _executorch()
    example = (torch.zeros(1, 3, input_size, input_size),)
    program = to_edge_transform_and_lower(torch.export.export(model.eval(), example),
                                          partitioner=[XnnpackPartitioner()]).to_executorch()
    with atomic_path(Path(path)) as temporary:
        temporary.write_bytes(program.buffer)
    return Path(path)


class ExecuTorchModel:
    """A ``.pte`` file loaded by the ExecuTorch runtime: ``model(batch-1 tensor) -> logits``."""

    def __init__(self, path: str | Path, threads: int = 1):
        _, _, Runtime = _executorch()
        from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

        _unsafe_reset_threadpool(threads)  # XNNPACK's pool: one thread, as the paper's one phone core
        self.method = Runtime.get().load_program(Path(path)).load_method("forward")

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return self.method.execute([image.contiguous()])[0]


def agreement(model: torch.nn.Module, exported: ExecuTorchModel, images: np.ndarray) -> dict:
    """The torch model and the exported program on the same preprocessed images (N x 3 x S x S)."""
    largest, scale, same_top1 = 0.0, 0.0, 0
    with torch.inference_mode():
        for image in torch.from_numpy(images).split(1):
            reference, candidate = model(image), exported(image)
            largest = max(largest, float((reference - candidate).abs().max()))
            scale = max(scale, float(reference.abs().max()))
            same_top1 += int(reference.argmax(1) == candidate.argmax(1))
    return {"images": len(images), "max_abs_logit_difference": largest, "max_abs_logit": scale,
            "top1_agreement": same_top1 / len(images),
            "tolerance": LOGIT_TOLERANCE, "within_tolerance": largest <= LOGIT_TOLERANCE}


def paired_latency(calls: dict, rounds: int = 30, burst: int = 10) -> dict:
    """Each runtime's batch-1 latency, measured in alternating rounds (order rotating); the fastest call
    of each burst; medians of the ms and, per runtime, of its ratio to the first runtime in each round."""
    names = list(calls)
    for call in calls.values():
        time_calls(call, 5, 0)
    samples = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names):] + names[:index % len(names)]
        for name in order:
            samples[name].append(min(time_calls(calls[name], 0, burst)))
    first = names[0]
    return {name: {"median_ms": statistics.median(values),
                   f"ratio_to_{first}": statistics.median(v / f for v, f in zip(values, samples[first]))}
            for name, values in samples.items()} | {"rounds": rounds, "burst": burst, "threads": 1}


def export_model_file(model_file: str | Path, image_inputs, output: str | Path | None = None,
                      rounds: int = 30) -> dict:
    """Export a trained model file to ExecuTorch, verify it on `image_inputs` and time it; returns the
    report (also written as ``<output>.json``)."""
    from mnas.infer.files import image_files
    from mnas.preprocess import preprocess, read_image
    from mnas.weights.model_file import load_model_file

    model_file = Path(model_file)
    files = image_files(image_inputs)  # checked before the minutes of export
    output = Path(output) if output else model_file.with_suffix(".pte")
    if output.suffix != ".pte":
        raise ValueError(f"--output {str(output)!r}: expected a file name ending in .pte")
    model, payload = load_model_file(model_file)
    size, mean, std = payload["input_size"], payload["mean"], payload["std"]
    images = np.concatenate([preprocess(read_image(f), size, mean, std, name=str(f)) for f in files])
    with torch_threads(1):
        export_executorch(model, size, output)
        exported = ExecuTorchModel(output, threads=1)
        checked = agreement(model, exported, images)
        image = torch.from_numpy(images[:1])
        with forward_call(model, size, "onnxruntime") as onnxruntime, forward_call(model, size, "torch") as eager:
            latency = paired_latency({"onnxruntime": onnxruntime, "executorch": lambda: exported(image),
                                      "torch": eager}, rounds=rounds)
    report = {"model_file": str(model_file), "format": "executorch", "backend": "xnnpack", "output": str(output),
              "bytes": output.stat().st_size, "arch": model.arch, "input_size": size,
              "agreement": checked, "latency": latency}
    atomic_write_text(output.with_suffix(".json"), json.dumps(report, indent=2))
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_file", help="a model file written by train (model.pth)")
    parser.add_argument("--format", choices=FORMATS, default="executorch",
                        help="executorch: a .pte for ExecuTorch's runtime, lowered to XNNPACK (phones' CPU kernels)")
    parser.add_argument("--images", nargs="+", required=True,
                        help="image files or folders the export is checked on against torch")
    parser.add_argument("--output", default="", help="the .pte to write (default: beside the model file)")
    parser.add_argument("--rounds", type=int, default=30, help="paired timing rounds (default 30)")


def run(args: argparse.Namespace) -> int:
    if args.rounds < 1:
        raise ValueError(f"--rounds must be >= 1, got {args.rounds}")
    report = export_model_file(args.model_file, args.images, args.output or None, args.rounds)
    check, latency = report["agreement"], report["latency"]
    print(f"wrote {report['output']} ({report['bytes']:,} bytes) and its report "
          f"{Path(report['output']).with_suffix('.json')}")
    print(f"checked on {check['images']} images: largest logit difference {check['max_abs_logit_difference']:.2e} "
          f"(tolerance {check['tolerance']:g}), top-1 agreement {check['top1_agreement']:.1%}")
    for name in ("onnxruntime", "executorch", "torch"):
        print(f"{name}: {latency[name]['median_ms']:.3f} ms at batch 1 on one thread, "
              f"{latency[name]['ratio_to_onnxruntime']:.2f} x ONNX Runtime (paired, {latency['rounds']} rounds)")
    return 0 if check["within_tolerance"] else 1
