"""``python -m mnas train``: the train_mnasnet job from the command line, with a tqdm progress bar.

    python -m mnas train --data ../shared/datasets/cifar10-jpg --model mnasnet0_5 --epochs 10
    python -m mnas train --data my_photos --arch "r1_k3_s22_e1_i3_o32_conv, ..." --input-size 224
    python -m mnas train --data my_photos --model mnasnet1_0 --pretrained --freeze-backbone

Writes model.pth (what ``infer_mnasnet`` / ``python -m mnas infer`` load), classes.txt, history.json,
curves.png, optionally model.onnx, and checkpoints/last.pt in --output (see `mnas.train_job`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from .train import OPTIMIZERS, SCHEDULES, TrainConfig

DEFAULTS = TrainConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True,
                        help="dataset folder: <data>/train/<class>/* and optionally <data>/val/<class>/*")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", default="mnasnet0_5", help="a named variant (default mnasnet0_5)")
    which.add_argument("--arch", help="an architecture string instead of --model (see mnas/arch.py)")
    parser.add_argument("--pretrained", action="store_true",
                        help="start from published ImageNet weights (torchvision's B1, timm's A1 and small; "
                             "torch hub cache, downloaded when missing unless MNAS_OFFLINE=1)")
    parser.add_argument("--freeze-backbone", action="store_true",
                        help="train the classifier only (needs --pretrained)")
    parser.add_argument("--output", default="", help="output folder (default: a new one under ~/mnas-runs)")
    parser.add_argument("--resume", action="store_true", help="continue from <output>/checkpoints/last.pt")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the training run already in --output (its files are deleted)")
    parser.add_argument("--export-onnx", action="store_true", help="also write model.onnx")
    parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--lr", type=float, default=DEFAULTS.lr, help="peak learning rate")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS.optimizer)
    parser.add_argument("--momentum", type=float, default=DEFAULTS.momentum)
    parser.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay)
    parser.add_argument("--schedule", choices=SCHEDULES, default=DEFAULTS.schedule)
    parser.add_argument("--warmup-epochs", type=float, default=DEFAULTS.warmup_epochs)
    parser.add_argument("--label-smoothing", type=float, default=DEFAULTS.label_smoothing)
    parser.add_argument("--input-size", type=int, default=DEFAULTS.input_size)
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--num-workers", type=int, default=DEFAULTS.num_workers,
                        help="batches prepared ahead in a background thread (0: in the training loop)")
    parser.add_argument("--no-augment", action="store_true", help="train without augmentation")
    parser.add_argument("--val-fraction", type=float, default=None,
                        help="carve this fraction of train/ for validation (default: use val/ or test/, "
                             "else 0.1)")
    parser.add_argument("--limit-per-class", type=int, default=None,
                        help="use only the first N training images of each class (quick runs)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--memory-budget-gb", type=float, default=None,
                        help="decoded images above this stream from their files, decoded by worker "
                             "processes while training (default: half of the memory available)")
    parser.add_argument("--decode-workers", type=int, default=DEFAULTS.decode_workers,
                        help="processes decoding a streamed dataset (0: one per core)")
    parser.add_argument("--device", default=DEFAULTS.device,
                        help="auto (CUDA when available, default), cpu, cuda or cuda:N")
    parser.add_argument("--no-mixed-precision", action="store_true",
                        help="train in float32 on CUDA too (mixed precision is used there by default)")


def job_from_args(args: argparse.Namespace):
    from .train_job import TrainJob

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         optimizer=args.optimizer, momentum=args.momentum,
                         weight_decay=args.weight_decay, schedule=args.schedule,
                         warmup_epochs=args.warmup_epochs, label_smoothing=args.label_smoothing,
                         input_size=args.input_size, seed=args.seed, augment=not args.no_augment,
                         num_workers=args.num_workers, freeze_backbone=args.freeze_backbone,
                         device=args.device, mixed_precision=not args.no_mixed_precision,
                         decode_workers=args.decode_workers)
    return TrainJob(data=args.data, model=args.arch or args.model, output_folder=args.output,
                    config=config, pretrained=args.pretrained, export_onnx=args.export_onnx,
                    resume=args.resume, overwrite=args.overwrite, val_fraction=args.val_fraction,
                    limit_per_class=args.limit_per_class, memory_budget_gb=args.memory_budget_gb)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from .train_job import run_training_job

    logging.basicConfig(level=logging.INFO, format="[train] %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
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
    print(f"top-1 {result.final.top1:.2%} after {result.history[-1].epoch} epoch(s) on {outcome.num_val} "
          f"validation images; per class: " +
          ", ".join(f"{name} {acc:.0%}" for name, acc in result.per_class_accuracy.items()))
    for name, path in outcome.files.items():
        print(f"{name}: {path}")
    return 0
