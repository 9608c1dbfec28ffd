"""The teacher TRL's trainer gets: its name to load, or a weightless stand-in.

TRL's `GKDTrainer` loads a teacher given by name and refuses one whose vocabulary size
differs from the student's. A teacher behind a server must not be loaded at all (it is
why it is served): TRL gets a module with the teacher's config and no weights, and the
loss asks the server (`teacher_requests.py`). A teacher with another tokenizer
(`teacher.cross_tokenizer`) may have another vocabulary size: TRL gets a stand-in with
the student's config, and gkd loads and prepares the real teacher after TRL's checks
(`teacher_loader`, then `prepare_teacher`).
"""

from __future__ import annotations

from typing import Any

import torch

from gkd_schema.runner.preflight.run_plan import RunPlan
from gkd_schema.runner.preflight.teacher_server_check import find_teacher, teacher_server
from gkd_schema.runner.preflight.trainer_args import teacher_init_kwargs
from gkd_schema.runner.teacher.server_topk import ServerTeacher
from gkd_schema.runner.train.teacher_requests import TeacherRequests


class TeacherStandIn(torch.nn.Module):
    """A config and nothing else: what TRL reads of a teacher it does not run.

    Args:
        config: A transformers config (its `vocab_size` is what TRL checks).
        where: Where the real teacher is, for the error a forward pass raises.
    """

    def __init__(self, config: Any, where: str) -> None:
        super().__init__()
        self.config, self.where = config, where

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"the teacher is {self.where}; this stand-in should never run")


def teacher_arguments(plan: RunPlan, student: Any) -> dict[str, Any]:
    """`GkdTrainer`'s teacher arguments: `teacher_model`, and `teacher_requests` or `teacher_loader`.

    Args:
        plan: The run's plan.
        student: The loaded student (its config stands in for a cross-tokenizer teacher's).

    Raises:
        ServerError: The teacher server cannot be asked what it serves, or serves another model.
        OSError: The teacher's config cannot be read.
    """
    config = plan.config
    name = config.gkd.teacher_model_name_or_path
    if config.teacher.cross_tokenizer is not None:
        kwargs = teacher_init_kwargs(config, plan.precision)

        def load() -> tuple[Any, Any]:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            dtype = kwargs["dtype"]
            loaded = {**kwargs, "dtype": dtype if dtype in ("auto", None) else getattr(torch, dtype)}
            model = AutoModelForCausalLM.from_pretrained(name, **loaded)
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=config.gkd.teacher_trust_remote_code)
            return model, tokenizer

        stand_in = TeacherStandIn(student.config, "loaded by gkd once TRL has checked this stand-in")
        return {"teacher_model": stand_in, "teacher_loader": load}
    if config.teacher.backend != "server" or config.teacher.top_k is None:
        return {"teacher_model": name}
    server = teacher_server(config)
    served_as = find_teacher(config, server, plan.base_dir).id
    requests = TeacherRequests(ServerTeacher(server, served_as, config.teacher.top_k), prefetch=config.teacher.prefetch)
    # Only token ids travel, checked against the student's vocabulary as they arrive, so a
    # teacher whose embedding is padded to another size (Qwen2.5 7B: 152064 against
    # 151936) is fine: the stand-in TRL checks has the student's config.
    return {"teacher_model": TeacherStandIn(student.config, f"served at {server.url}"), "teacher_requests": requests}


def prepare_teacher(teacher: Any, accelerator: Any, deepspeed: bool) -> Any:
    """A teacher gkd loaded itself, prepared as TRL prepares the one it loads (FSDP: `fsdp_teacher`)."""
    if deepspeed:
        from trl.models.utils import prepare_deepspeed

        return prepare_deepspeed(teacher, accelerator)
    return accelerator.prepare_model(teacher, evaluation_mode=True)
