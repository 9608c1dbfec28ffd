"""gkd's GKD trainer: TRL's `GKDTrainer` with the fixes a real run needs.

- The on-policy decision is derived from the seed and the step, so every process
  makes the same one (TRL flips a coin per process, which can hang ZeRO-3).
- On-policy completions are generated with the KV cache even when gradient
  checkpointing is on (TRL turns the cache off; generation runs ~4.6x slower).
- The loss is gkd's memory-lean implementation (`gkd.loss_implementation`).
- Under FSDP the teacher is sharded too (TRL leaves it unwrapped on the CPU;
  `fsdp_teacher.py`).
- On-policy completions come from a generation backend (`generation.backend`):
  transformers' `generate`, or a colocated vLLM engine kept in step with the weights.
- A teacher behind a server (`teacher.backend: server`) is asked for each batch's top K
  as soon as the batch's tokens are final, a step ahead for dataset batches
  (`teacher_requests.py`); the loss collects the answer after the student's forward pass.
- Time spent in generation is measured for the end summary and the benchmark.
- The model card also names the teacher, the data, the GKD settings and the
  evaluation (`model_card.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gkd_schema.models import RunConfig
from gkd_schema.models.generation_section import GenerationSection
from gkd_schema.runner.generation.backend import GenerationBackend
from gkd_schema.runner.generation.on_policy import on_policy_decision
from gkd_schema.runner.loss.distillation import compute_distillation_loss
from gkd_schema.runner.preflight.trl_compat import gkd_classes
from gkd_schema.runner.train.cross_tokenizer_loss import CrossTokenizerLoss
from gkd_schema.runner.train.fsdp_teacher import shard_teacher
from gkd_schema.runner.train.generation_setup import student_backend, transformers_backend
from gkd_schema.runner.train.model_card import render_card_section, with_card_section
from gkd_schema.runner.train.on_policy_record import OnPolicyRecord
from gkd_schema.runner.train.teacher_requests import TeacherRequests
from gkd_schema.runner.train.teacher_setup import prepare_teacher

_TrlGKDTrainer: Any = gkd_classes()[1]

__all__ = ["GkdTrainer", "OnPolicyRecord"]


class GkdTrainer(_TrlGKDTrainer):  # type: ignore[misc]
    """TRL's GKD trainer with synchronized on-policy decisions and KV-cache generation."""

    def __init__(
        self,
        *args: Any,
        loss_implementation: str = "trl",
        top_k: int | None = None,
        top_k_tail: bool = True,
        run_config: RunConfig | None = None,
        generation: GenerationSection | None = None,
        teacher_requests: TeacherRequests | None = None,
        teacher_loader: Callable[[], tuple[Any, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """Build the trainer.

        Args:
            *args: Passed to TRL's `GKDTrainer`.
            loss_implementation: `gkd.loss_implementation`.
            top_k: `teacher.top_k` (None: the teacher's full vocabulary).
            top_k_tail: `teacher.top_k_tail`.
            run_config: The run's config, for the model card (None: TRL's card only).
            generation: The `generation` section (None: transformers' `generate`).
            teacher_requests: For a served teacher (`teacher_model` is then its weightless
                stand-in): the requests the loss's teacher top K come from.
            teacher_loader: For a teacher with another tokenizer (`teacher_model` is then a
                stand-in TRL's vocabulary check passes): returns the real teacher and its
                tokenizer, loaded after TRL's checks.
            **kwargs: Passed to TRL's `GKDTrainer`.
        """
        super().__init__(*args, **kwargs)
        self.teacher_requests = teacher_requests
        self.cross_tokenizer: CrossTokenizerLoss | None = None
        teacher: Any = self.teacher_model
        if teacher_loader is not None:
            loaded, teacher_tokenizer = teacher_loader()
            teacher = prepare_teacher(loaded, self.accelerator, bool(self.is_deepspeed_enabled))
            self.cross_tokenizer = CrossTokenizerLoss(self.processing_class, teacher_tokenizer, beta=self.beta)
        fsdp = bool(getattr(self, "is_fsdp_enabled", False)) and teacher_requests is None
        self.teacher_model: Any = shard_teacher(teacher, self.accelerator, fsdp_enabled=fsdp)
        self._ahead: tuple[Iterator[Any], Any] | None = None  # the next step's batches, drawn early
        self.loss_implementation = loss_implementation
        self.top_k, self.top_k_tail = top_k, top_k_tail
        self.run_config = run_config
        # Markdown sections by title that the card adds (`publish` puts the run hooks' here).
        self.card_sections: dict[str, str] = {}
        self.on_policy = OnPolicyRecord()
        self._micro = (-1, 0)  # (global step, micro-batches seen in it)
        # `unwrap_for_generation` switches gradient checkpointing off while generating,
        # so the cache is safe to use; TRL still asks for use_cache=False.
        self.generation_kwargs["use_cache"] = True
        self.generation_config.use_cache = True
        self.generation_backend: GenerationBackend = student_backend(
            self, generation, run_config.model if run_config else None
        )
        # seq_kd completions are the teacher's; it is not trained, so transformers samples it.
        self._teacher_backend = transformers_backend(self, None)
        self.on_policy.backend = self.generation_backend.name
        self.on_policy.stats = self.generation_backend.stats
        if teacher_requests is not None:
            self.on_policy.teacher = teacher_requests.teacher.stats

    def train(self, *args: Any, **kwargs: Any) -> Any:
        """Train; then batches drawn ahead do not keep a teacher server busy, nor a weight transfer open."""
        try:
            return super().train(*args, **kwargs)
        finally:
            self._ahead = None
            if self.teacher_requests is not None:
                self.teacher_requests.drop_ahead()
            self.generation_backend.close()

    def _on_policy(self, step: int, micro: int) -> bool:
        return on_policy_decision(self.args.seed, step, micro, self.lmbda)

    def get_batch_samples(self, epoch_iterator: Iterator[Any], num_batches: int, device: Any) -> Any:
        """This step's micro-batches; with a teacher server, the next step's are drawn too, and sent.

        Dataset batches are final when drawn, so their teacher answers are requested a
        step before they train, while this step's run (on-policy ones wait for their
        completions: `training_step`).
        """
        requests = self.teacher_requests
        if requests is None or not requests.prefetch:
            return super().get_batch_samples(epoch_iterator, num_batches, device)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is epoch_iterator:
            current = ahead[1]
        else:
            current = super().get_batch_samples(epoch_iterator, num_batches, device)
        step = self.state.global_step
        self._ahead = (epoch_iterator, super().get_batch_samples(epoch_iterator, num_batches, device))
        requests.ahead(current[0], lambda micro: not self._on_policy(step, micro))
        requests.ahead(self._ahead[1][0], lambda micro: not self._on_policy(step + 1, micro))
        return current

    def _next_micro_step(self) -> tuple[int, int]:
        """(optimizer step, micro-batch index within it) of the batch being trained."""
        step = self.state.global_step
        micro = self._micro[1] + 1 if self._micro[0] == step else 0
        self._micro = (step, micro)
        return step, micro

    def _generate(self, backend: GenerationBackend, model: Any, inputs: dict[str, Any]) -> None:
        """Replace the batch's completions with ones `model` samples through `backend`."""
        started = time.perf_counter()
        # The optimizer step is the weights' version: a backend with its own copy syncs when it moves.
        ids, mask, labels = backend.generate(
            model, inputs, self.generation_config, weights_version=self.state.global_step
        )
        self.on_policy.generation_seconds += time.perf_counter() - started
        inputs["input_ids"], inputs["attention_mask"], inputs["labels"] = ids, mask, labels

    def training_step(
        self, model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None
    ) -> Any:
        """One micro-batch: maybe replace completions (on-policy or seq_kd), then learn."""
        step, micro = self._next_micro_step()
        on_policy = self._on_policy(step, micro)
        self.on_policy.decisions.append((step, micro, on_policy))
        if on_policy:
            self._generate(self.generation_backend, model, inputs)
        elif self.seq_kd:
            self._generate(self._teacher_backend, self.teacher_model, inputs)
        if self.teacher_requests is not None:
            self.teacher_requests.start(inputs, regenerated=on_policy or self.seq_kd)
        # Skip TRL's training_step (it would flip its own coin); go to SFTTrainer's.
        return super(_TrlGKDTrainer, self).training_step(model, inputs, num_items_in_batch)

    def create_model_card(self, *args: Any, **kwargs: Any) -> None:
        """TRL's model card with gkd's section, and without the links to `huggingface.co/None`.

        TRL names the base model only when it is a Hub id and the model only when
        pushing to the Hub; otherwise its template prints `None` as both. A Hub training
        dataset is named to TRL, which lists it in the card's metadata.
        """
        config = self.run_config
        if config is not None and config.data.train.name and len(args) < 2:
            kwargs.setdefault("dataset_name", config.data.train.name)
        super().create_model_card(*args, **kwargs)
        card = Path(self.args.output_dir) / "README.md"
        if not self.is_world_process_zero() or not card.is_file():
            return
        student = getattr(self.model.config, "_name_or_path", "") or "the student"
        text = card.read_text("utf-8")
        text = text.replace("[None](https://huggingface.co/None)", f"`{student}` (a local model)")
        text = text.replace('model="None"', f'model="{self.args.output_dir}"')
        if config is not None:
            text = with_card_section(text, render_card_section(config, self.card_sections))
        card.write_text(text, "utf-8")

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """The generalized JSD loss through `gkd.loss_implementation` (or, across tokenizers, ULD)."""
        if self.cross_tokenizer is not None:
            return self.cross_tokenizer(
                model, self.teacher_model, inputs, num_items_in_batch=num_items_in_batch, return_outputs=return_outputs
            )
        requests = self.teacher_requests
        return compute_distillation_loss(
            model,
            self.teacher_model,
            inputs,
            beta=self.beta,
            # TRL's GKD loss uses temperature 1; `gkd.temperature` is for sampling only.
            temperature=1.0,
            implementation=self.loss_implementation,
            top_k=self.top_k,
            top_k_tail=self.top_k_tail,
            num_items_in_batch=num_items_in_batch,
            return_outputs=return_outputs,
            served_top_k=None if requests is None else lambda: requests.collect(inputs, self.accelerator.device),
        )
