"""Ikomia training tasks without servers: MLflow into a file:// store, no TensorBoard process.

`dnntrain.TrainProcess` starts an MLflow server on 0.0.0.0:5000 and TensorBoard unless its monitoring
checks are replaced; for tests, notebooks and the command-line pipeline we point MLflow at a local
file store instead (``mlflow ui --backend-store-uri <store>`` shows it afterwards).
"""

from __future__ import annotations

import os
from pathlib import Path


def use_file_store(store_dir: str | os.PathLike) -> str:
    """Make every Ikomia TrainProcess created after this call log to `store_dir`; returns its URI."""
    import mlflow
    from ikomia.core import config
    from ikomia.dnn import monitoring

    uri = Path(store_dir).resolve().as_uri()
    Path(store_dir).mkdir(parents=True, exist_ok=True)
    monitoring.check_mlflow_server = lambda: None
    monitoring.check_tensorboard_server = lambda: None
    config.main_cfg["mlflow"]["tracking_uri"] = uri
    mlflow.set_tracking_uri(uri)
    return uri
