"""ImageNet weights: published files, where a copy may already be, downloads into the torch hub cache."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from urllib.parse import urlparse

import torch

from mnas.models import MnasNet, create_model, get_variant
from mnas.utils.fileio import DownloadError, atomic_download, file_sha256, read_torch_file
from mnas.utils.paths import OFFLINE_ENV, offline
from mnas.weights.convert import load_state_dict_into
from mnas.weights.state_dict import extract_state_dict, head_size
from mnas.weights.timm import TIMM_WEIGHTS

logger = logging.getLogger(__name__)


# variant -> the torchvision weights enum holding its ImageNet checkpoint
IMAGENET_WEIGHTS = {"mnasnet0_5": "MNASNet0_5_Weights", "mnasnet0_75": "MNASNet0_75_Weights",
                    "mnasnet1_0": "MNASNet1_0_Weights", "mnasnet1_3": "MNASNet1_3_Weights"}


DEFAULT_INPUT_SIZE = 224  # the ImageNet weights' resolution
DOWNLOAD_TIMEOUT_S = 30.0     # per read: a dead link fails in this time


DOWNLOAD_DEADLINE_S = 600.0   # per download, all reads together: a server dribbling bytes never ends one


class WeightsNotFoundError(FileNotFoundError):
    """No weights where they were looked for; the message says where and how to provide them."""


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names, from torchvision's weights meta (nothing downloaded)."""
    return list(imagenet_weights("mnasnet1_0").meta["categories"])


def download_allowed(download: bool | None = None) -> bool:
    """`download` when given; else True unless ``MNAS_OFFLINE=1`` (or ``MNAS_DOWNLOAD_WEIGHTS=0``)."""
    if download is not None:
        return download
    return not offline()


# What else a user can do without the ImageNet weights, in the parameters of what asked for them
USE_A_WEIGHTS_FILE = "give model_weight_file"           # inference: infer_mnasnet, python -m mnas infer


TRAIN_FROM_SCRATCH = "turn pretrained off to train from scratch"  # training: train_mnasnet, python -m mnas train


def missing_imagenet_message(model_name: str, instead: str = USE_A_WEIGHTS_FILE) -> str:
    """Where the variant's ImageNet weights were looked for and how to get them; `instead` is the other
    way, named in the parameters of the task or command that needed them (no other parameter named)."""
    weights, path = published_weights(model_name), imagenet_checkpoint_path(model_name)
    others = "".join(f"; {place.label}: {place.path}" for place in imagenet_weights_places(model_name)[1:])
    return (f"ImageNet weights for {model_name} not found: looked for {path} ({weights.origin} in the "
            f"torch hub cache, $TORCH_HOME/hub/checkpoints){others}. Copy {path.name} (from {weights.url}) to "
            f"that folder, or fetch it when online ('mnas weights fetch {model_name}', or a download on "
            f"first use; downloads are off with {OFFLINE_ENV}=1), or {instead}")


def download_imagenet_weights(model_name: str) -> Path:
    """Download the variant's ImageNet checkpoint into the torch hub cache (`mnas.utils.fileio.atomic_download`):
    kept only when complete, of its known hash and loadable as the variant's weights; else a
    `DownloadError` naming the url, the file and what was wrong, and no file under its name."""
    weights, path = published_weights(model_name), imagenet_checkpoint_path(model_name)

    def usable(tmp: Path) -> None:  # a file that loads but is not these weights would fail every later load
        what = "the downloaded file"
        state_dict = extract_state_dict(read_torch_file(tmp, what, show_path=False), what)
        model = create_model(model_name, num_classes=head_size(state_dict))
        load_state_dict_into(model, state_dict, source=what, model_label=model_name)

    logger.info("downloading %s to %s", weights.url, path)
    return atomic_download(weights.url, path, deadline_s=DOWNLOAD_DEADLINE_S, read_timeout_s=DOWNLOAD_TIMEOUT_S,
                           sha256=weights.sha256, check=usable)


def load_imagenet_state_dict(model_name: str, *, download: bool | None = None,
                             instead: str = USE_A_WEIGHTS_FILE) -> dict:
    """The variant's ImageNet state dict (timm's converted to our layout by the caller): the file
    `find_imagenet_weights` finds, or a download when allowed (see the module doc); loaded
    ``weights_only=True``. A missing file's error ends with `instead` (`missing_imagenet_message`)."""
    return _imagenet_state_dict(model_name, download=download, instead=instead)[0]


def _imagenet_state_dict(model_name: str, *, download: bool | None, instead: str) -> tuple[dict, Path]:
    found = find_imagenet_weights(model_name)
    rejected = "".join(f". Not used: {why}" for why in found.rejected)
    if found.state_dict is not None:
        logger.info("ImageNet weights for %s from the %s: %s", model_name, found.label, found.path)
        return found.state_dict, found.path
    path = found.path or imagenet_checkpoint_path(model_name)
    if found.path is None:
        if not download_allowed(download):
            raise WeightsNotFoundError(f"{missing_imagenet_message(model_name, instead)}{rejected}. Offline: "
                                       "not downloaded")
        try:
            download_imagenet_weights(model_name)
        except DownloadError as error:
            raise WeightsNotFoundError(f"{missing_imagenet_message(model_name, instead)}{rejected}. The "
                                       f"download failed: {error}") from None
    what = "ImageNet weights file"
    try:
        return extract_state_dict(read_torch_file(path, what), f"{what} {str(path)!r}"), path
    except ValueError as error:
        raise ValueError(f"{error}: delete it and place the file again") from None


def load_imagenet_model(model_name: str, *, input_size: int = DEFAULT_INPUT_SIZE, dropout: float | None = None,
                        download: bool | None = None, instead: str = USE_A_WEIGHTS_FILE) -> MnasNet:
    """The variant with its published ImageNet weights (1000 classes), its `published_weights`
    metadata in ``model.pretrained_metadata``, the file used in ``model.pretrained_path``."""
    state_dict, path = _imagenet_state_dict(model_name, download=download, instead=instead)
    source = f"ImageNet weights {str(path)!r}"
    model = create_model(model_name, num_classes=head_size(state_dict), input_size=input_size, dropout=dropout)
    load_state_dict_into(model, state_dict, source=source, model_label=model_name)
    model.pretrained_metadata = published_weights(model_name).metadata()
    model.pretrained_path = path
    return model


PRETRAINED_VARIANTS = (*IMAGENET_WEIGHTS, *TIMM_WEIGHTS)


@dataclasses.dataclass(frozen=True)
class PublishedWeights:
    """A variant's published ImageNet checkpoint: where it comes from and how good it is."""

    model_name: str
    origin: str           # e.g. "torchvision MNASNet1_0_Weights.IMAGENET1K_V1", "timm semnasnet_100.rmsp_in1k"
    url: str
    top1: float           # published ImageNet-1k validation accuracy, %
    top5: float
    sha256: str | None    # its SHA-256 or a prefix, checked on download: torchvision's file names carry
                          # one; timm's entries only when pinned (see mnas.weights.timm)

    @property
    def file_name(self) -> str:
        return os.path.basename(urlparse(self.url).path)

    def metadata(self) -> dict:
        return {"weights": self.origin, "url": self.url, "imagenet_top1": self.top1,
                "imagenet_top5": self.top5}


def imagenet_weights(model_name: str):
    """torchvision's weights enum member (``IMAGENET1K_V1``) for a B1 variant."""
    import torchvision.models

    return getattr(torchvision.models, IMAGENET_WEIGHTS[model_name]).IMAGENET1K_V1


def published_weights(model_name: str) -> PublishedWeights:
    """The variant's ImageNet checkpoint (torchvision's for B1, timm's for A1 and small)."""
    get_variant(model_name)
    if model_name in IMAGENET_WEIGHTS:
        enum = imagenet_weights(model_name)
        metrics = enum.meta["_metrics"]["ImageNet-1K"]
        return PublishedWeights(model_name, f"torchvision {IMAGENET_WEIGHTS[model_name]}.IMAGENET1K_V1",
                                enum.url, float(metrics["acc@1"]), float(metrics["acc@5"]),
                                _name_hash(enum.url))
    if model_name in TIMM_WEIGHTS:
        info = TIMM_WEIGHTS[model_name]
        return PublishedWeights(model_name, f"timm {info['timm_model']}.{info['tag']}", info["url"],
                                info["acc@1"], info["acc@5"], info.get("sha256"))
    raise WeightsNotFoundError(
        f"no ImageNet weights are published for {model_name}: only {', '.join(PRETRAINED_VARIANTS)} "
        f"have them. Give model_weight_file (a model file written by train_mnasnet, or a state dict) "
        f"to use {model_name}")


def _name_hash(url: str) -> str | None:
    """The SHA-256 prefix in a torch hub file name (``name-<hex>.pth``), as torch.hub checks it."""
    match = torch.hub.HASH_REGEX.search(os.path.basename(urlparse(url).path))
    return match.group(1) if match and match.group(1) else None


def imagenet_checkpoint_path(model_name: str) -> Path:
    """Where torchvision (B1) and timm (A1, small) keep the variant's ImageNet checkpoint: the torch hub
    cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / published_weights(model_name).file_name


# Other places a user may already hold the published weights, looked at (after the torch hub cache,
# before any download) by `find_imagenet_weights`:
# * the Ikomia HUB task infer_torchvision_mnasnet calls ``torch.hub.set_dir(<plugin>/weights)`` before
#   torchvision's ``mnasnet1_0(pretrained=True)``, so its copy of torchvision's file lies in
#   ``~/Ikomia/Plugins/Python/infer_torchvision_mnasnet/weights/checkpoints/`` under torchvision's name
#   (train_torchvision_mnasnet uses the default torch hub cache, looked at first anyway; its models/
#   folder holds fine-tuned models, not ImageNet weights);
# * timm >= 0.9 fetches its pretrained weights from the Hugging Face Hub, repository
#   ``timm/<model>.<tag>``: ``$HF_HUB_CACHE/models--timm--<model>.<tag>/snapshots/<rev>/model.safetensors``
#   (or ``pytorch_model.bin``); the snapshot file links to a blob named by its SHA-256.
IKOMIA_HUB_INFER_TASK = "infer_torchvision_mnasnet"


HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


TORCH_HUB_CACHE = "torch hub cache"


def ikomia_plugins_dir() -> Path:
    """Where Ikomia keeps Python plugins by default: ``~/Ikomia/Plugins/Python``."""
    return Path.home() / "Ikomia" / "Plugins" / "Python"


def hf_hub_cache() -> Path:
    """The Hugging Face Hub cache as huggingface_hub finds it: ``$HF_HUB_CACHE``, ``$HF_HOME/hub``,
    else ``~/.cache/huggingface/hub`` (``$XDG_CACHE_HOME`` respected)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "hub"


@dataclasses.dataclass(frozen=True)
class WeightsPlace:
    """One place the variant's ImageNet weights are looked for; `path` may hold a ``*`` (a snapshot)."""

    label: str
    path: Path

    @property
    def checked(self) -> bool:  # a file found outside the torch hub cache is checked before use
        return self.label != TORCH_HUB_CACHE


def imagenet_weights_places(model_name: str) -> list[WeightsPlace]:
    """Every place the variant's ImageNet weights are looked for, in the order they are looked at."""
    weights = published_weights(model_name)
    places = [WeightsPlace(TORCH_HUB_CACHE, imagenet_checkpoint_path(model_name))]
    if model_name in IMAGENET_WEIGHTS:
        places.append(WeightsPlace(f"Ikomia HUB plugin {IKOMIA_HUB_INFER_TASK}",
                                   ikomia_plugins_dir() / IKOMIA_HUB_INFER_TASK / "weights" / "checkpoints"
                                   / weights.file_name))
    if model_name in TIMM_WEIGHTS:
        info = TIMM_WEIGHTS[model_name]
        repo = hf_hub_cache() / f"models--timm--{info['timm_model']}.{info['tag']}"
        places += [WeightsPlace("timm's Hugging Face cache", repo / "snapshots" / "*" / name)
                   for name in HF_WEIGHT_FILES]
    return places


def _files_at(place: WeightsPlace) -> list[Path]:
    """The files present at `place`: a snapshot pattern gives the revision of refs/main first."""
    if "*" not in place.path.parts:  # in the torch hub cache anything there is used (and said wrong if so)
        present = place.path.exists() if not place.checked else place.path.is_file()
        return [place.path] if present else []
    snapshots = place.path.parent.parent
    found = sorted(path for path in snapshots.glob(f"*/{place.path.name}") if path.is_file())
    ref = snapshots.parent / "refs" / "main"
    main = ref.read_text(encoding="utf-8", errors="replace").strip() if ref.is_file() else ""
    return sorted(found, key=lambda path: path.parent.name != main)


def _known_sha256(model_name: str, place: WeightsPlace, path: Path) -> str | None:
    """The SHA-256 a found file must have, where known: torchvision's file name carries a prefix; a
    Hugging Face snapshot links to a blob named by its SHA-256."""
    if place.label.startswith("Ikomia HUB"):
        return published_weights(model_name).sha256
    blob = Path(os.path.realpath(path)).name
    return blob if len(blob) == 64 and all(c in "0123456789abcdef" for c in blob) else None


def read_weights_file(path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    """A state dict from a ``.safetensors`` file (no code can run) or a PyTorch checkpoint
    (``weights_only=True``); a ValueError naming `what` when it is neither."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return extract_state_dict(read_torch_file(path, what), f"{what} {str(path)!r}")
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ValueError(f"{what} {str(path)!r} is a .safetensors file: reading it needs the safetensors "
                         "package (pip install safetensors)") from None
    try:
        return dict(load_file(str(path), device="cpu"))
    except Exception as error:  # safetensors' own errors: a truncated or damaged file
        raise ValueError(f"{what} {str(path)!r} is not a readable safetensors file "
                         f"({type(error).__name__}: {str(error)[:200]})") from None


def check_found_weights(model_name: str, place: WeightsPlace, path: Path) -> dict[str, torch.Tensor]:
    """A file found at `place` checked as a download is: its SHA-256 where known, then loads as the
    variant's weights; its state dict, or a ValueError saying what is wrong."""
    what = f"{place.label} file"
    sha256 = _known_sha256(model_name, place, path)
    if sha256:
        digest = file_sha256(path)
        if not digest.startswith(sha256.lower()):
            raise ValueError(f"{what} {str(path)!r} has SHA-256 {digest}, not the expected {sha256}: "
                             "not the published file (damaged or replaced)")
    state_dict = read_weights_file(path, what)
    model = create_model(model_name, num_classes=head_size(state_dict))
    load_state_dict_into(model, state_dict, source=f"{what} {str(path)!r}", model_label=model_name)
    return state_dict


@dataclasses.dataclass
class FoundWeights:
    """The outcome of `find_imagenet_weights`."""

    path: Path | None                 # the file to use, None when none was found or usable
    label: str | None = None          # where it was found
    state_dict: dict | None = None    # already read and checked (files outside the torch hub cache)
    rejected: list[str] = dataclasses.field(default_factory=list)  # files found but unusable, and why


def find_imagenet_weights(model_name: str) -> FoundWeights:
    """The variant's ImageNet weights in the torch hub cache (used as torchvision uses it), else in the
    Ikomia HUB plugin's folder or timm's Hugging Face cache (`imagenet_weights_places`), a file there
    used only once `check_found_weights` passes; nothing downloaded."""
    rejected = []
    for place in imagenet_weights_places(model_name):
        for path in _files_at(place):
            if not place.checked:
                return FoundWeights(path, place.label)
            try:
                return FoundWeights(path, place.label, check_found_weights(model_name, place, path), rejected)
            except (ValueError, OSError) as error:
                logger.warning("not using %s: %s", path, error)
                rejected.append(str(error))
    return FoundWeights(None, rejected=rejected)
