"""Every model kind ``daguerre train`` knows, by name: one explicit dict, no registration.

Each value is a :class:`~daguerre.train.trainer.Task` class, which names its config class and
its data; :func:`~daguerre.train.trainer.train` runs it through the one loop.
"""

from __future__ import annotations

from typing import Any

from daguerre.train.adain import AdaINTask
from daguerre.train.cyclegan import CycleGANTask
from daguerre.train.grade import GradeTask
from daguerre.train.restore import RestoreTask
from daguerre.train.router import RouterTask
from daguerre.train.scratch import ScratchTask
from daguerre.train.trainer import Task

KINDS: dict[str, type[Task[Any]]] = {
    "restore": RestoreTask,
    "scratch": ScratchTask,
    "style": CycleGANTask,
    "adain": AdaINTask,
    "grade": GradeTask,
    "router": RouterTask,
}
