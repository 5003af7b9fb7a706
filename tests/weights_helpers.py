"""Shared by the weights and inference tests: checkpoints with random but non-trivial weights."""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision


def randomize_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Perturb every weight and batch-norm statistic so that logits differ clearly between classes
    (freshly initialised BN layers are identities and the head is near zero: a weak test)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=generator)
            if name.endswith("running_var"):
                tensor.copy_(noise.abs() * 0.5 + 0.5)
            elif tensor.ndim == 1:
                tensor.add_(noise * 0.1)
            elif tensor.ndim == 2:  # the classifier
                tensor.copy_(noise * 0.3)
    return model.eval()


def torchvision_mnasnet(name: str, seed: int = 0, num_classes: int = 1000) -> torch.nn.Module:
    return randomize_(getattr(torchvision.models, name)(num_classes=num_classes), seed)


def save_state_dict(model: torch.nn.Module, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path
