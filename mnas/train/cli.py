"""``python -m mnas train``: the train_mnasnet job from the command line, with a tqdm progress bar.

    python -m mnas train --data ../shared/datasets/cifar10-jpg --model-name mnasnet0_5 --epochs 10
    python -m mnas train --data my_photos --arch "r1_k3_s22_e1_i3_o32_conv, ..." --input-size 224
    python -m mnas train --data my_photos --model-name mnasnet1_0 --pretrained --freeze-backbone

Writes model.pth (what ``infer_mnasnet`` / ``python -m mnas infer`` load; the best epoch on validation,
last.pth the last one), classes.txt, history.json, curves.png, split.json, evaluation/ (confusion matrix,
per-class precision / recall / F1, top-1 / top-5 with 95 % intervals: `mnas.evaluation.report`), optionally
model.onnx, and checkpoints/ in --output (see `mnas.train.job`). With --pretrained, --batch-size and
--learning-rate default to fine-tuning values (8 and 0.001, the Ikomia HUB's); a value given always wins.
"""

from __future__ import annotations

import argparse
import logging
import sys

from mnas import settings
from mnas.train.config import TrainConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mnas.train.job import TrainJob

    parser.add_argument("--data", required=True,
                        help="dataset folder: <data>/train/<class>/* and optionally <data>/val/<class>/*, or a "
                        "flat folder of class folders <data>/<class>/* (validation held out, --val-fraction)")
    which = parser.add_mutually_exclusive_group()
    # --model-name, as python -m mnas infer and both tasks name it (--model: its earlier name)
    which.add_argument("--model-name", dest="model_name", default="mnasnet0_5",
                       help="a named variant (default mnasnet0_5; mnasnet, the Ikomia HUB's: mnasnet1_0)")
    which.add_argument("--model", dest="model_name", action=settings.DeprecatedOption, new_flag="--model-name",
                       default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    which.add_argument("--arch", help="an architecture string instead of --model-name (see mnas/arch.py)")
    parser.add_argument("--output", default="", help="output folder (default: a new one under $MNAS_OUTPUT_DIR "
                                                     "or ~/mnas-runs)")
    parser.add_argument("--limit-per-class", type=int, default=None,
                        help="use only the first N training images of each class (quick runs)")
    parser.add_argument("--train-threads", type=int, default=None,
                        help="torch CPU threads of the training (default: torch's)")
    parser.add_argument("--threads", dest="train_threads", type=int, default=argparse.SUPPRESS,
                        action=settings.DeprecatedOption, new_flag="--train-threads", help=argparse.SUPPRESS)
    settings.add_arguments(parser, TrainJob)     # the job's settings and every training setting, as
    settings.add_arguments(parser, TrainConfig)  # TrainJob and TrainConfig declare them


def job_from_args(args: argparse.Namespace):
    from mnas.train.job import TrainJob, auto_choices, auto_values_named

    job_settings = settings.values_from_args(TrainJob, args)
    fields = settings.values_from_args(TrainConfig, args)
    chosen = auto_choices(fields, args.data, pretrained=job_settings["pretrained"])  # a value given stays
    config = settings.build(TrainConfig, {**fields, **chosen})
    return settings.build(TrainJob, dict(data=args.data, model=args.arch or args.model_name, output_folder=args.output,
                                         config=config, limit_per_class=args.limit_per_class,
                                         auto_values=auto_values_named(chosen), **job_settings))


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from mnas.train.job import run_training_job

    logging.basicConfig(level=logging.INFO, format="[train] %(message)s")
    if args.train_threads:
        torch.set_num_threads(args.train_threads)
    job = job_from_args(args)  # a bad setting: ValueError, reported by mnas.__main__
    bar = tqdm(unit="step", dynamic_ncols=True, disable=None)

    def on_ready(steps_per_epoch: int) -> None:
        bar.reset(total=steps_per_epoch * job.config.epochs)

    def on_step(step: int) -> None:
        bar.n = step
        bar.refresh()

    def on_epoch_end(stats) -> None:
        bar.set_postfix(epoch=stats.epoch, loss=f"{stats.train_loss:.3f}", top1=f"{stats.top1:.1%}")
        bar.write(f"epoch {stats.epoch}/{job.config.epochs}: train loss {stats.train_loss:.4f}, val loss "
                  f"{stats.val_loss:.4f}, top-1 {stats.top1:.2%}, top-5 {stats.top5:.2%}, lr "
                  f"{stats.lr:.3g}, {stats.epoch_seconds:.1f} s, {stats.images_per_second:.0f} images/s")

    try:
        outcome = run_training_job(job, on_epoch_end=on_epoch_end, on_step=on_step, on_ready=on_ready)
    except KeyboardInterrupt:
        print("\ninterrupted: the last finished epoch's checkpoint is kept (continue with --resume)",
              file=sys.stderr)
        return 130
    finally:
        bar.close()
    result = outcome.result
    if outcome.skipped_files:
        print(f"skipped {outcome.skipped_files} unreadable file(s)")
    if not result.history:
        print("no epoch finished: nothing written")
        return 1
    kept = (f"model.pth: epoch {result.best_epoch} of {result.history[-1].epoch} (the best validation top-1; "
            "last.pth: the last)" if result.best_epoch else f"model.pth: the last epoch, {result.history[-1].epoch}")
    print(f"{kept}; validation top-1 {result.final.top1:.2%} on {outcome.num_val} images")
    if outcome.evaluation:
        from mnas.evaluation.report import format_table

        print(f"evaluation on {outcome.evaluation['data']['split']}: " + format_table(outcome.evaluation))
    for name, path in outcome.files.items():
        print(f"{name}: {path}")
    return 0
