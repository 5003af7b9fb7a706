"""infer_mnasnet: classify whole images, or the boxes of an upstream detector, with any MnasNet.

A thin adapter: parameters (strings, as Ikomia wants them) <-> `mnas.infer.classifier.Classifier`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os

import numpy as np
from ikomia import core, dataprocess

from mnas import settings
from mnas.infer.classifier import Classifier, InferSettings, confidence_texts
from mnas.preprocess import MIN_IMAGE_SIDE
from mnas_ikomia.params import CheckedKeysTask, canonical_params, param_factory, parse_bool
from mnas_ikomia.task_info import one_line, task_factory

logger = logging.getLogger(__name__)

PLUGIN_NAME = "infer_mnasnet"
ALL = "all"


@dataclasses.dataclass
class PublishSettings:
    """What the task publishes: the task's own setting (the command line has --top-k for its files)."""

    top_k: int | None = settings.setting(
        None, "whole-image results: every class with its confidence (all; as Ikomia's results table and "
        "the public MnasNet task give them), or only the k most probable (fewer results to format and publish "
        "each frame)", label="Classes published", kind="integer", minimum=1, maximum=100000,
        special=ALL, special_default=True)

    def __post_init__(self):
        settings.check_values(self)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _file_state(path: str) -> tuple | None:
    """A file's identity for reload decisions: device, inode, size and modification time (None when
    absent). One stat call: it runs on every frame (resolving the path cost ten times more)."""
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return (path,)
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def hub_dataset(value: str, given, current) -> dict[str, str]:
    """The Ikomia HUB task's dataset switch: ImageNet (the model's ImageNet weights: no weights file) or
    Custom (your own model: the weights file given in model_weight_file, the HUB's model_path)."""
    word = value.strip().lower()
    weight_file = str(given.get("model_weight_file", current.get("model_weight_file", ""))).strip()
    if word == "imagenet":
        return {"model_weight_file": ""}
    if word != "custom":
        raise ValueError(f"dataset must be ImageNet or Custom (the Ikomia HUB task's switch), got {value!r}")
    if not weight_file:
        raise ValueError("dataset 'Custom' needs your model's weights file: set model_weight_file (the HUB's "
                         "model_path)")
    return {}


class InferMnasnetParam(core.CWorkflowTaskParam):
    """Parameters of infer_mnasnet; every value is a string on the Ikomia side. The model and runtime
    ones are `mnas.infer.classifier.InferSettings`' (kept as attributes: model_name, input_size, ...); cuda and
    top_k are the task's own. The Ikomia HUB task's names (model_path, classes_path, dataset, model_name
    "mnasnet") are read with their HUB meaning."""

    task_name = PLUGIN_NAME
    old_names = settings.old_names(InferSettings)
    aliases = settings.aliases(InferSettings)
    hub_only = {"dataset": hub_dataset}

    def __init__(self):
        core.CWorkflowTaskParam.__init__(self)
        for name, value in dataclasses.asdict(InferSettings()).items():
            setattr(self, name, value)     # input_size, threads None: auto
        self.cuda = _cuda_available()
        self.top_k = PublishSettings().top_k
        self.update = False

    def set_values(self, params):
        """Parse everything before assigning anything, so a bad value leaves the old parameters intact."""
        params = canonical_params(params, self, PLUGIN_NAME)
        current = self.get_values()
        values = {key: str(params.get(key, current[key])) for key in current}
        chosen = settings.build(InferSettings, settings.parse_strings(InferSettings, values))
        published = settings.build(PublishSettings, settings.parse_strings(PublishSettings, values))
        cuda = parse_bool(values["cuda"], "cuda")
        # top_k only changes what is published: it does not reload the model
        changed = {**values, "top_k": ""} != {**current, "top_k": ""}
        for name, value in dataclasses.asdict(chosen).items():
            setattr(self, name, value)
        self.cuda, self.top_k = cuda, published.top_k
        self.update = self.update or changed

    def get_values(self):
        return {**{s.name: settings.to_string(s, getattr(self, s.field))
                   for config in (InferSettings, PublishSettings) for s in settings.settings_of(config)},
                "cuda": str(self.cuda)}

    def load_key(self) -> tuple:
        """Everything the loaded model depends on, files' contents included (via size and mtime), so a
        retrained weights file is picked up on the next run."""
        return (self.model_name, self.input_size, self.cuda, _file_state(self.model_weight_file),
                _file_state(self.class_file))


InferMnasnetParamFactory = param_factory(InferMnasnetParam)


def object_crop(image: np.ndarray, item) -> np.ndarray | None:
    """The pixels of an input graphics item's bounding rectangle, clipped to the image; None when less
    than MIN_IMAGE_SIDE remains. (ikomia 0.16.1's get_object_sub_image returns the whole image for the
    boxes of an upstream detection task, so the crop is made here.)"""
    x, y, width, height = item.get_bounding_rect()
    left, top = max(0, math.floor(x)), max(0, math.floor(y))
    right = min(image.shape[1], math.ceil(x + width))
    bottom = min(image.shape[0], math.ceil(y + height))
    if min(right - left, bottom - top) < MIN_IMAGE_SIDE:
        return None
    return image[top:bottom, left:right]


class InferMnasnet(CheckedKeysTask, dataprocess.CClassificationTask):
    """Whole image -> every class with its confidence, sorted; detector boxes -> one class each."""

    def __init__(self, name, param):
        dataprocess.CClassificationTask.__init__(self, name)
        self.set_param_object(copy.deepcopy(param) if param is not None else InferMnasnetParam())
        # chaining: input 2, a model file (train_mnasnet's output 0) that replaces model_weight_file when set
        self.add_input(dataprocess.CPathIO(core.IODataType.FILE_PATH))
        self.classifier: Classifier | None = None
        self.loads = 0  # how many times a model was loaded (a parameter change reloads, nothing else)
        self._loaded_key: tuple | None = None

    def get_progress_steps(self):
        return 2

    def _get_classifier(self) -> Classifier:
        param = self.get_param_object()
        key = param.load_key()
        if self.classifier is None or param.update or key != self._loaded_key:
            self.classifier, self._loaded_key = None, None  # a failed load must not leave a stale model
            device = "cpu"
            if param.cuda:
                if _cuda_available():
                    device = "cuda"
                else:
                    logger.warning("%s: cuda=True but no CUDA device is available: running on the CPU",
                                   PLUGIN_NAME)
            classifier = Classifier.load(param.model_name, param.model_weight_file, param.class_file,
                                         param.input_size, device, backend=param.backend, int8=param.int8,
                                         calibration_folder=param.calibration_folder, threads=param.threads)
            self.set_names(classifier.class_names)
            self.classifier, self._loaded_key = classifier, key
            param.update = False
            self.loads += 1
            logger.info("%s: loaded %s", PLUGIN_NAME, classifier.describe())
        return self.classifier

    def run(self):
        self.begin_task_run()
        chained = self.get_input(2).get_path()
        if chained and chained != self.get_param_object().model_weight_file:
            self.get_param_object().model_weight_file = chained  # part of load_key: the model reloads
        classifier = self._get_classifier()
        self.emit_step_progress()
        image = self.get_input(0).get_image()
        if image is None:  # Ikomia could not read the file given to run_on(path=...)
            raise ValueError("input 0 holds no image: the workflow's input file is not a readable image "
                             "(not an image, empty or truncated); expected an RGB image file or array")
        if self.is_whole_image_classification():
            probabilities = classifier.predict(image, name="input image")[0]
            names, confidences = classifier.ranked(probabilities, self.get_param_object().top_k)
            self.set_whole_image_results(names, confidence_texts(confidences))
        else:
            self._classify_objects(classifier, image)
        self.forward_input_image(0, 0)
        self.emit_step_progress()
        self.end_task_run()

    def _classify_objects(self, classifier: Classifier, image: np.ndarray) -> None:
        """Each box of the upstream detector gets its own class (crops batched in one forward pass)."""
        objects, crops = [], []
        for item in self.get_input_objects():
            crop = object_crop(image, item)
            if crop is None:
                logger.warning("%s: skipped object %s: its box %s leaves less than %d x %d pixels in the "
                               "image", PLUGIN_NAME, item.get_id(), item.get_bounding_rect(),
                               MIN_IMAGE_SIDE, MIN_IMAGE_SIDE)
                continue
            objects.append(item)
            crops.append(crop)
        if not crops:
            return
        probabilities = classifier.predict(crops, name="object")
        for item, row in zip(objects, probabilities):
            index = int(row.argmax())
            self.add_object(item, index, float(row[index]))


InferMnasnetFactory = task_factory(
    InferMnasnet, name=PLUGIN_NAME, algo_type=core.AlgoType.INFER,
    short_description="MnasNet image classification: ImageNet weights or your own trained model",
    description=one_line("""
        Classifies whole images, or each box of an upstream detection task, with any MnasNet:
        torchvision's ImageNet-trained MnasNet-B1 (x0.5, x0.75, x1.0, x1.3), MnasNet-A1, MnasNet-small
        or an architecture found by search_mini, using weights trained with train_mnasnet (a model file
        alone is enough: it carries the architecture, class names and input size)."""),
    keywords="mnasnet,nas,architecture search,mobile,classification,imagenet,cnn,pytorch")
