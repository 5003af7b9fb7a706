"""ExecuTorch export of a trained model, checked against torch and timed beside ONNX Runtime (not a test).

Trains B1 x0.5 (mnasnet0_5) for 2 epochs on 2,000 CIFAR-10 train/ images (200 per class), exports it with
`mnas.export` (XNNPACK, fp32) and checks it on 1,000 test/ images (100 per class); latency at batch 1 on
one thread, paired rounds of ONNX Runtime, ExecuTorch and eager torch. Writes
bench/results/export/executorch_mnasnet0_5.json.

    python bench/export_bench.py [--data ../shared/datasets/cifar10-jpg] [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from mnas.data.splits import link_subset
from mnas.export import export_model_file
from mnas.train.config import TrainConfig
from mnas.train.job import TrainJob, run_training_job

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "cifar10-jpg"))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "export" / "executorch_mnasnet0_5.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = link_subset(Path(args.data), scratch / "data", {"train": ("train", 0, 200), "test": ("test", 0, 100)})
        config = TrainConfig(epochs=2, batch_size=32, learning_rate=0.05, input_size=32)
        run_training_job(TrainJob(data=str(data), model="mnasnet0_5", output_folder=str(scratch / "run"),
                                  config=config))
        report = export_model_file(scratch / "run" / "model.pth", [data / "test"], scratch / "run" / "model.pte",
                                   rounds=args.rounds)
    report.update(model_file="mnasnet0_5, 2 epochs on 2,000 CIFAR-10 train/ images (200 per class)",
                  output="model.pte (not kept)", images="CIFAR-10 test/, 100 per class")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2))
    print(json.dumps({"agreement": report["agreement"], "latency": report["latency"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
