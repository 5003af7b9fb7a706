"""Ikomia HUB test (the HUB CI calls ``test(task, data_dict)``): one short epoch on the HUB's
classification dataset (a folder with train/ and val/ of class folders)."""

import logging

from ikomia.utils.tests import run_for_test

logger = logging.getLogger(__name__)


def test(t, data_dict):
    logger.info("===== Test::train_mnasnet =====")
    params = t.get_parameters()
    params.update({"epochs": "1", "batch_size": "2", "input_size": "64"})
    t.set_parameters(params)
    t.get_input(0).set_path(data_dict["datasets"]["classification"]["dataset_classification"])
    yield run_for_test(t)
