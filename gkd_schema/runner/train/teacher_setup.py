"""The teacher TRL's trainer gets: its name to load, or, for a served teacher, a weightless stand-in.

TRL's `GKDTrainer` loads a teacher given by name and checks its vocabulary size; a
teacher behind a server must not be loaded at all (it is why it is served). It gets a
module that has the teacher's config and no weights instead, and the loss asks the
server (`teacher_requests.py`).
"""

from __future__ import annotations

from typing import Any

import torch

from gkd_schema.runner.preflight.run_plan import RunPlan
from gkd_schema.runner.preflight.teacher_server_check import find_teacher, teacher_server
from gkd_schema.runner.teacher.server_topk import ServerTeacher
from gkd_schema.runner.train.teacher_requests import TeacherRequests


class ServedTeacherStandIn(torch.nn.Module):
    """The teacher's config and nothing else: what TRL reads of a teacher it does not run.

    Args:
        config: The teacher's transformers config.
        url: The server that holds the teacher, for the error a forward pass raises.
    """

    def __init__(self, config: Any, url: str) -> None:
        super().__init__()
        self.config, self.url = config, url

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"the teacher runs on the server at {self.url}; nothing here should run it")


def teacher_arguments(plan: RunPlan) -> dict[str, Any]:
    """`GkdTrainer`'s teacher arguments: `teacher_model`, and `teacher_requests` for a served teacher.

    Raises:
        ServerError: The teacher server cannot be asked what it serves, or serves another model.
        OSError: The teacher's config cannot be read.
    """
    config = plan.config
    name = config.gkd.teacher_model_name_or_path
    if config.teacher.backend != "server" or config.teacher.top_k is None:
        return {"teacher_model": name}
    from transformers import AutoConfig

    server = teacher_server(config)
    served_as = find_teacher(config, server, plan.base_dir).id
    teacher_config = AutoConfig.from_pretrained(name, trust_remote_code=config.gkd.teacher_trust_remote_code)
    requests = TeacherRequests(ServerTeacher(server, served_as, config.teacher.top_k), prefetch=config.teacher.prefetch)
    return {"teacher_model": ServedTeacherStandIn(teacher_config, server.url), "teacher_requests": requests}
