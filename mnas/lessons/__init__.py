"""The classroom lessons: where they are, copies for a class, what a running lesson writes, the
teacher's edition, the pictures of the ideas.

Modules:

- `mnas.lessons.copies`: where the lessons are (clone or installed package); copies for a class
- `mnas.lessons.outputs`: what a running lesson writes: its outputs folder, figures, claims
- `mnas.lessons.teacher`: the teacher's edition: the lessons run with their solutions, as HTML
- `mnas.lessons.pictures`: matplotlib pictures of the ideas (blocks, the search loop, the space, reward shapes)
- `mnas.lessons.cli`: ``mnas lessons copy | build``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.lessons import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "INSTALLED": "mnas.lessons.copies", "LESSONS_DIR": "mnas.lessons.copies",
    "LessonCopyError": "mnas.lessons.copies", "PACKAGED_LESSONS": "mnas.lessons.copies",
    "SOURCE_ROOT": "mnas.lessons.copies", "SYSTEM_FOLDERS": "mnas.lessons.copies",
    "copy_lessons": "mnas.lessons.copies", "jupyterlab_command": "mnas.lessons.copies",
    "kernel_metadata": "mnas.lessons.copies", "lesson_notebooks": "mnas.lessons.copies",
    "figure_shower": "mnas.lessons.outputs", "lesson_outputs": "mnas.lessons.outputs",
    "record_claims": "mnas.lessons.outputs",
    "EDITION_MARKS": "mnas.lessons.teacher", "INDEX_TITLE": "mnas.lessons.teacher",
    "SOLUTIONS_DIR": "mnas.lessons.teacher", "TEACHER_DIR": "mnas.lessons.teacher",
    "build_teacher_edition": "mnas.lessons.teacher", "lesson_number": "mnas.lessons.teacher",
    "with_solutions": "mnas.lessons.teacher",
    "BOX_HEIGHT": "mnas.lessons.pictures", "BOX_WIDTH": "mnas.lessons.pictures", "COLORS": "mnas.lessons.pictures",
    "DECISIONS": "mnas.lessons.pictures", "draw_blocks": "mnas.lessons.pictures",
    "draw_reward_isolines": "mnas.lessons.pictures", "draw_search_loop": "mnas.lessons.pictures",
    "draw_search_space": "mnas.lessons.pictures", "pareto_points": "mnas.lessons.pictures",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
