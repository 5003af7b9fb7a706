"""Training: the configuration, the engine, augmentation, checkpoints, the job around a run, its command line.

Modules:

- `mnas.train.config`: `TrainConfig`: every training setting declared once, checked, automatic values
- `mnas.train.engine`: the training loop: optimisers, schedules, evaluation, BN recalibration, divergence checks
- `mnas.train.augment`: batch preprocessing and augmentation on the device
- `mnas.train.checkpoint`: resumable checkpoints, loaded ``weights_only``
- `mnas.train.job`: a run: data, model, folder, locks, logs, curves, the model file and its evaluation
- `mnas.train.cli`: ``mnas train``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.train import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "FINE_TUNING_BATCH_SIZE": "mnas.train.config", "FINE_TUNING_LR": "mnas.train.config",
    "MAX_EPOCHS": "mnas.train.config", "OPTIMIZERS": "mnas.train.config", "SCHEDULES": "mnas.train.config",
    "SCRATCH_BATCH_SIZE": "mnas.train.config", "SCRATCH_LR": "mnas.train.config", "SEED_LIMIT": "mnas.train.config",
    "TrainConfig": "mnas.train.config", "auto_defaults": "mnas.train.config",
    "BEST_CHECKPOINT_NAME": "mnas.train.engine", "BEST_FORMAT": "mnas.train.engine",
    "DEVICE_DATA_SHARE": "mnas.train.engine", "EpochStats": "mnas.train.engine", "EvalResult": "mnas.train.engine",
    "PlacedData": "mnas.train.engine", "Precision": "mnas.train.engine", "RMSPROP_ALPHA": "mnas.train.engine",
    "RMSPROP_EPS": "mnas.train.engine", "StopTraining": "mnas.train.engine", "TrainResult": "mnas.train.engine",
    "TrainingDiverged": "mnas.train.engine", "best_of": "mnas.train.engine", "divergence_limit": "mnas.train.engine",
    "evaluate": "mnas.train.engine", "freeze_backbone": "mnas.train.engine", "is_better": "mnas.train.engine",
    "learning_rate": "mnas.train.engine", "make_optimizer": "mnas.train.engine",
    "recalibrate_batch_norm": "mnas.train.engine", "seed_everything": "mnas.train.engine",
    "steps_per_epoch": "mnas.train.engine", "train": "mnas.train.engine",
    "BatchPreprocessor": "mnas.train.augment", "CROP_PADDING": "mnas.train.augment",
    "SMALL_INPUT_MAX": "mnas.train.augment",
    "CHECKPOINT_FORMAT": "mnas.train.checkpoint", "CHECKPOINT_NAME": "mnas.train.checkpoint",
    "RESUMABLE_CHANGES": "mnas.train.checkpoint", "check_resume_config": "mnas.train.checkpoint",
    "checkpoint_payload": "mnas.train.checkpoint", "load_checkpoint": "mnas.train.checkpoint",
    "model_device": "mnas.train.checkpoint", "restore": "mnas.train.checkpoint",
    "CHECKPOINT_DIR_NAME": "mnas.train.job", "CLASS_FILE_NAME": "mnas.train.job",
    "CURVES_FILE_NAME": "mnas.train.job", "DATASET_FILE_NAME": "mnas.train.job",
    "EVALUATION_DIR_NAME": "mnas.train.job", "HISTORY_FILE_NAME": "mnas.train.job", "JobData": "mnas.train.job",
    "JobResult": "mnas.train.job", "LAST_MODEL_FILE_NAME": "mnas.train.job", "MODEL_FILE_NAME": "mnas.train.job",
    "ONNX_FILE_NAME": "mnas.train.job", "PHOTO_INPUT_SIZE": "mnas.train.job", "RUN_FILES": "mnas.train.job",
    "SMALL_IMAGE_INPUT_SIZE": "mnas.train.job", "SPLIT_FILE_NAME": "mnas.train.job", "TrainJob": "mnas.train.job",
    "auto_choices": "mnas.train.job", "auto_values_named": "mnas.train.job", "check_job": "mnas.train.job",
    "check_previous_run": "mnas.train.job", "check_same_dataset": "mnas.train.job",
    "default_input_size": "mnas.train.job",
    "describe_auto_values": "mnas.train.job", "evaluate_model_file": "mnas.train.job",
    "plot_training_curves": "mnas.train.job", "run_training_job": "mnas.train.job", "train_config": "mnas.train.job",
    "write_outputs": "mnas.train.job", "write_split_record": "mnas.train.job",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
