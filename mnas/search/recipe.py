"""Recipe F, the final training recipe: the unit in which the surrogate benchmark is measured.

The proxy (1 epoch on 1,600 images) ranks what learns fast in 50 steps and is blind to capacity
(B1 x0.5 / x1.0 differ by 1.6 points by proxy, 5.5 after 3 epochs on 10,000 images); the verdicts of
the search are given after a longer training.  Recipe F is that longer training, named once: the
surrogate build measures every architecture with it, and `bench/proxy_fidelity.py`'s long fidelity is
it.  Its images are stratified subsets of ``train/`` (training, then held-out validation); ``test/`` is
never read.
"""

from __future__ import annotations

import dataclasses

from mnas.search.config import SearchConfig


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A training recipe for children at 32 px, expressed in the search's own settings."""

    name: str
    epochs: int
    train_images: int
    val_images: int
    batch_size: int
    lr: float

    def search_config(self, **overrides) -> SearchConfig:
        """A `SearchConfig` whose child training is this recipe (`overrides`: executor, latency, ...)."""
        return SearchConfig(proxy_epochs=self.epochs, train_images=self.train_images,
                            val_images=self.val_images, batch_size=self.batch_size, learning_rate=self.lr, **overrides)

    def describe(self) -> str:
        return (f"recipe {self.name}: {self.epochs} epochs on {self.train_images:,} train/ images, batch "
                f"{self.batch_size}, lr {self.lr:g} (SGD Nesterov, cosine), top-1 on {self.val_images:,} "
                "other train/ images")


# The long bench's optimizer and schedule (the search's trainer: SGD Nesterov, cosine, precise BN).
RECIPE_F = Recipe("F", epochs=3, train_images=10_000, val_images=5_000, batch_size=32, lr=0.02)
