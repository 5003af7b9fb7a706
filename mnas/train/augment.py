"""Training batches from uint8 images: normalised, and augmented to fit the input size.

`BatchPreprocessor` turns uint8 N x H x W x 3 batches into normalised float N x 3 x S x S ones, as one
tensor op per batch. Augmentation fits the input size: at input_size <= `SMALL_INPUT_MAX` (CIFAR-like)
a random crop after `CROP_PADDING` px zero padding plus horizontal flip; at larger sizes a
random-resized crop (scale 0.08-1, ratio 3/4-4/3, via ``torchvision.ops.roi_align``) plus flip. Every
draw comes from the generator given (the same draws on every device).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mnas.data.decode import resize_uint8
from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD

SMALL_INPUT_MAX = 64        # at or below: CIFAR-style pad-and-crop augmentation; above: random-resized crop
CROP_PADDING = 4


class BatchPreprocessor:
    """uint8 N x H x W x 3 batches -> normalised float N x 3 x S x S, augmented or for evaluation."""

    def __init__(self, input_size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD, channels_last: bool = True,
                 device: torch.device | str = "cpu"):
        self.input_size = input_size
        self.small = input_size <= SMALL_INPUT_MAX
        self.device = torch.device(device)
        std_t = torch.tensor(std).view(1, 3, 1, 1)
        self.scale = (1.0 / (255.0 * std_t)).to(self.device)
        self.shift = (-torch.tensor(mean).view(1, 3, 1, 1) / std_t).to(self.device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def _to_float(self, images: torch.Tensor) -> torch.Tensor:
        # NHWC uint8 permuted is channels-last already; one copy to float in the wanted layout
        images = images.to(self.device, non_blocking=True)
        x = images.permute(0, 3, 1, 2).to(torch.float32, memory_format=self.memory_format)
        return x.mul_(self.scale).add_(self.shift)

    def _crop_resize(self, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Crop each image of float NCHW `x` to its box (x1, y1, x2, y2) and resize to input_size."""
        from torchvision.ops import roi_align

        rois = torch.cat([torch.arange(len(x), dtype=x.dtype, device=x.device)[:, None],
                          boxes.to(x.device, x.dtype)], dim=1)
        return roi_align(x, rois, self.input_size, spatial_scale=1.0, sampling_ratio=0, aligned=True)

    def eval_batch(self, images: torch.Tensor) -> torch.Tensor:
        """The whole image at input_size (resized when stored at another size), normalised."""
        if images.shape[1:3] != (self.input_size, self.input_size):
            images = self._resize_uint8(images)
        return self._to_float(images)

    def train_batch(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        if self.small:
            if images.shape[1:3] != (self.input_size, self.input_size):
                images = self._resize_uint8(images)
            return self._to_float(_flip(_pad_random_crop(images, CROP_PADDING, generator), generator))
        x = self._crop_resize(self._to_float(images), _random_resized_boxes(images.shape, generator))
        return _flip(x.permute(0, 2, 3, 1), generator).permute(0, 3, 1, 2).contiguous(
            memory_format=self.memory_format)

    def _resize_uint8(self, images: torch.Tensor) -> torch.Tensor:
        return resize_uint8(images.to(self.device, non_blocking=True), self.input_size)


def _pad_random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Random H x W crops of NHWC `images` zero-padded by `padding`, gathered in one indexing op."""
    n, height, width, _ = images.shape
    padded = F.pad(images, (0, 0, padding, padding, padding, padding))
    # drawn on the CPU generator (the same draws on every device), then moved to the images
    top = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator).to(images.device)
    left = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator).to(images.device)
    rows = (top + torch.arange(height, device=images.device))[:, :, None]
    cols = (left + torch.arange(width, device=images.device))[:, None, :]
    return padded[torch.arange(n, device=images.device)[:, None, None], rows, cols]


def _flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip a random half of NHWC `images` left-right."""
    flip = (torch.rand(len(images), generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(2), images)


def _random_resized_boxes(shape, generator: torch.Generator, scale=(0.08, 1.0),
                          ratio=(3 / 4, 4 / 3)) -> torch.Tensor:
    """Inception-style crop boxes (x1, y1, x2, y2) for a batch of NHWC `shape`; clamped, no retries."""
    n, height, width = shape[:3]
    area = height * width * torch.empty(n).uniform_(*scale, generator=generator)
    log_ratio = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator)
    aspect = torch.exp(log_ratio)
    box_w = torch.sqrt(area * aspect).clamp(1, width)
    box_h = torch.sqrt(area / aspect).clamp(1, height)
    x1 = torch.rand(n, generator=generator) * (width - box_w)
    y1 = torch.rand(n, generator=generator) * (height - box_h)
    return torch.stack([x1, y1, x1 + box_w, y1 + box_h], dim=1)
