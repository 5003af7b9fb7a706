"""What the three tasks' factories share: their Ikomia `info` (the paper, the licence, the versions) and
the factory class itself."""

from __future__ import annotations

PAPER = {
    "authors": "Mingxing Tan, Bo Chen, Ruoming Pang, Vijay Vasudevan, Mark Sandler, Andrew Howard, Quoc V. Le",
    "article": "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
    "journal": "Conference on Computer Vision and Pattern Recognition (CVPR)",
    "year": 2019,
    "documentation_link": "https://arxiv.org/abs/1807.11626",
    "article_url": "https://arxiv.org/abs/1807.11626",
}


def describe_task(info, *, name: str, short_description: str, description: str, keywords: str,
                  algo_type) -> None:
    """Fill a CTaskFactory's `info` with the task's own text and the fields every task of ours shares."""
    info.name = name
    info.short_description = short_description
    info.description = description
    info.keywords = keywords
    info.algo_type = algo_type
    info.algo_tasks = "CLASSIFICATION"
    for field, value in PAPER.items():
        setattr(info, field, value)
    info.license = "BSD-3-Clause"
    info.path = "Plugins/Python/Classification"
    info.icon_path = "icons/mnasnet.png"
    info.version = "1.0.0"
    info.min_ikomia_version = "0.16.0"


def one_line(text: str) -> str:
    """A description written as an indented paragraph, as the one line Ikomia shows."""
    return " ".join(text.split())


def task_factory(task_class, **description):
    """The Ikomia task factory of `task_class`, its `info` filled by `describe_task(**description)`."""
    from ikomia import dataprocess

    class Factory(dataprocess.CTaskFactory):
        def __init__(self):
            dataprocess.CTaskFactory.__init__(self)
            describe_task(self.info, **description)

        def create(self, param=None):
            return task_class(self.info.name, param)

    Factory.__name__ = Factory.__qualname__ = f"{task_class.__name__}Factory"
    return Factory
