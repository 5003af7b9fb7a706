"""Pre-processing quality and cost: ours (halvings + bilinear) vs the previous INTER_AREA vs plain bilinear.

Each pipeline resizes the whole image to S x S and normalises it; the reference is torchvision's
``ImageClassification`` transform at the same size (antialiased bilinear resize to S x S; the centre
crop is then a no-op), the transform the ImageNet weights were trained with. For each pipeline:

- top-1 agreement with the reference, and top-1 accuracy, of a model trained by the training engine on
  CIFAR-10 (32 px, `--epochs` on `--train-images` images of train/) on CIFAR-10 test/ images upscaled
  to 480x640 (bicubic, like a photo) and to 96x96, then pre-processed back to 32 px (15-20x and 3x);
- the mean absolute difference of the network input from the reference (normalised units), there and
  at 224 px on the upscaled CIFAR-10 images and on scikit-image photos (16 photos, each also cut into
  random crops of 25-100 % of its sides) -- without ImageNet weights here, no top-1 at 224 px;
- the time of the resize alone on a 480x640 and a 1080x1920 photo (median of 300 calls, one thread).

    python bench/infer_preprocess_bench.py                  # trains a small CIFAR-10 model first (~2 min)
    python bench/infer_preprocess_bench.py --model-file m.pt --images 2000
    python bench/infer_preprocess_bench.py --parts times        # the resize timings alone
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torchvision.transforms._presets import ImageClassification

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from mnas import runtime  # noqa: E402
from mnas.data.decode import load_split
from mnas.data.splits import stratified_split  # noqa: E402
from mnas.models import create_model  # noqa: E402
from mnas.preprocess import Preprocessor, resize_image  # noqa: E402
from mnas.train.config import TrainConfig
from mnas.train.engine import seed_everything, train  # noqa: E402
from mnas.weights.model_file import load_model_file, save_model_file  # noqa: E402

CIFAR10_ROOT = REPO_ROOT.parent / "shared" / "datasets" / "cifar10-jpg"
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "retina", "immunohistochemistry",
          "hubble_deep_field", "colorwheel", "logo", "camera", "coins", "page", "cell", "moon", "text",
          "clock")


def area_resize(image: np.ndarray, size: int) -> np.ndarray:
    """The previous pre-processing: INTER_AREA when shrinking, INTER_LINEAR when enlarging."""
    shrinking = image.shape[0] * image.shape[1] > size * size
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def bilinear_resize(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)


RESIZES = {"ours (halvings + bilinear)": resize_image, "previous (INTER_AREA)": area_resize,
           "plain bilinear": bilinear_resize}


def rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    return np.ascontiguousarray(image[:, :, :3])


def batch_of(images, size: int, resize) -> np.ndarray:
    preprocessor = Preprocessor(size)
    return np.concatenate([preprocessor(np.ascontiguousarray(resize(im, size)).reshape(size, size, 3))
                           for im in images])


def reference_batch(images, size: int) -> np.ndarray:
    transform = ImageClassification(crop_size=size, resize_size=size)
    transform.resize_size = [size, size]  # its constructor wraps any value in a list: set S x S here
    return np.stack([transform(torch.from_numpy(im).permute(2, 0, 1)).numpy() for im in images])


def trained_cifar_model(args) -> nn.Module:
    if args.model_file:
        return load_model_file(args.model_file)[0].eval()
    train_all = load_split(CIFAR10_ROOT / "train", limit_per_class=args.train_images // 10)
    train_set, val_set = stratified_split(train_all, 0.1)
    seed_everything(0)
    model = create_model("mnasnet0_5", num_classes=10, input_size=32)
    started = time.perf_counter()
    train(model, train_set, val_set, TrainConfig(epochs=args.epochs, batch_size=128, learning_rate=0.1, input_size=32))
    print(f"trained mnasnet0_5 at 32 px on {len(train_set)} CIFAR-10 images, {args.epochs} epochs, "
          f"{time.perf_counter() - started:.0f} s")
    save_model_file(args.save_model, model, class_names=train_set.class_names, input_size=32)
    return model.eval()


def cifar_test(count: int):
    test = load_split(CIFAR10_ROOT / "test", limit_per_class=count // 10)
    return [image.numpy() for image in test.images], test.labels.numpy()


def upscaled(images, height: int, width: int):
    return [cv2.resize(im, (width, height), interpolation=cv2.INTER_CUBIC) for im in images]


def photo_crops(crops_per_photo: int, seed: int = 0):
    import skimage.data

    generator = np.random.default_rng(seed)
    images = []
    for name in PHOTOS:
        photo = rgb(getattr(skimage.data, name)())
        images.append(photo)
        height, width = photo.shape[:2]
        for _ in range(crops_per_photo):
            h, w = (int(side * generator.uniform(0.25, 1.0)) for side in (height, width))
            top, left = generator.integers(0, height - h + 1), generator.integers(0, width - w + 1)
            images.append(np.ascontiguousarray(photo[top:top + h, left:left + w]))
    return images


def compare(label: str, model: nn.Module | None, images, size: int, labels=None) -> None:
    """Each pipeline's distance to the reference input and, with a model, its top-1 agreement with
    the reference's and with the previous pre-processing's, and its accuracy."""
    reference = reference_batch(images, size)
    batches = {name: batch_of(images, size, resize) for name, resize in RESIZES.items()}
    print(f"{label}: {len(images)} images -> {size} px")
    top1 = {}
    if model is not None:
        backend = runtime.create_backend(model, size, backend="onnxruntime").backend
        top1 = {name: backend.probabilities(batch).argmax(1) for name, batch in {"reference": reference,
                                                                                 **batches}.items()}
        if labels is not None:
            print(f"  {'reference (torchvision)':<28} top-1 accuracy {np.mean(top1['reference'] == labels):.2%}")
    previous = list(RESIZES)[1]
    for name, batch in batches.items():
        text = f"  {name:<28} mean |input - reference| {np.abs(batch - reference).mean():.4f}"
        if top1:
            text += (f"   top-1 agreement with the reference {np.mean(top1[name] == top1['reference']):.2%}, "
                     f"with previous {np.mean(top1[name] == top1[previous]):.2%}")
        if labels is not None:
            text += f"   top-1 accuracy {np.mean(top1[name] == labels):.2%}"
        print(text)


def resize_times() -> None:
    import skimage.data

    cv2.setNumThreads(1)
    for width, height in ((640, 480), (1920, 1080)):
        photo = np.ascontiguousarray(cv2.resize(skimage.data.coffee(), (width, height)))
        figures = []
        for name, resize in RESIZES.items():
            for _ in range(20):
                resize(photo, 224)
            samples = []
            for _ in range(300):
                start = time.perf_counter()
                resize(photo, 224)
                samples.append((time.perf_counter() - start) * 1000)
            figures.append(f"{name} {statistics.median(samples):.3f} ms")
        print(f"resize {height}x{width} -> 224: " + ", ".join(figures))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="CIFAR-10 test images (spread over classes)")
    parser.add_argument("--model-file", default="", help="a 32 px CIFAR-10 model file (skips training)")
    parser.add_argument("--save-model", default="/tmp/mnas-preprocess-bench-cifar.pt")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=10000)
    parser.add_argument("--crops-per-photo", type=int, default=15)
    parser.add_argument("--parts", nargs="+", choices=("times", "quality"), default=("times", "quality"),
                        help="times: the resize timings (run them under the timing lock); quality: the rest")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    if "times" in args.parts:
        resize_times()
    if "quality" not in args.parts:
        return 0
    images, labels = cifar_test(args.images)
    photo_sized, small = upscaled(images, 480, 640), upscaled(images, 96, 96)
    cifar_model = trained_cifar_model(args)
    compare("trained CIFAR-10 model, test/ upscaled to 480x640", cifar_model, photo_sized, 32, labels)
    compare("trained CIFAR-10 model, test/ upscaled to 96x96", cifar_model, small, 32, labels)
    # no ImageNet weights here: at 224 px, how far each input is from the reference
    compare("CIFAR-10 test/ upscaled to 480x640", None, photo_sized, 224)
    compare("scikit-image photos and random crops of them", None, photo_crops(args.crops_per_photo), 224)
    return 0


if __name__ == "__main__":
    sys.exit(main())
