"""Ikomia HUB test (the HUB CI calls ``test(task, data_dict)``): classify a photo with the defaults
(MnasNet-B1 1.0 and its ImageNet weights, downloaded into the torch hub cache when online)."""

import logging

import cv2
from ikomia.utils.tests import run_for_test

logger = logging.getLogger(__name__)


def test(t, data_dict):
    logger.info("===== Test::infer_mnasnet =====")
    image = cv2.imread(data_dict["images"]["detection"]["coco"])[..., ::-1]  # BGR file -> RGB input
    t.get_input(0).set_image(image)
    return run_for_test(t)
