"""Ikomia plugin ``infer_mnasnet``: MnasNet image classification (a thin adapter over `mnas.infer.classifier`)."""
import importlib.util

if importlib.util.find_spec("mnas_ikomia") is None:  # not on PyPI, so not in requirements.txt
    raise ImportError("infer_mnasnet needs the MnasNet for Ikomia package (distribution mnasnet-ikomia, "
                      "imported as mnas), "
                      "which is installed from the project's repository, not from PyPI: into the Python that "
                      "Ikomia runs, 'pip install \"<clone of the repository>[ikomia]\"', then restart Ikomia")
