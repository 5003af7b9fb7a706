"""The Ikomia side of the project: plugin registration, server-free MLflow tracking, the main job.

Kept apart from `mnas` so that the core never imports ikomia.
"""
