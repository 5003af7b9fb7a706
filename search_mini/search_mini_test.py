"""Ikomia HUB test (the HUB CI calls ``test(task, data_dict)``): a search of three children with a few
images each on the HUB's classification dataset (class folders under train/)."""

import logging

from ikomia.utils.tests import run_for_test

logger = logging.getLogger(__name__)


def test(t, data_dict):
    logger.info("===== Test::search_mini =====")
    params = t.get_parameters()
    params.update({"budget_children": "3", "train_images": "16", "val_images": "8",
                   "baseline_widths": "0.5", "target_latency_ms": "0"})
    t.set_parameters(params)
    t.get_input(0).set_path(data_dict["datasets"]["classification"]["dataset_classification"])
    yield run_for_test(t)
