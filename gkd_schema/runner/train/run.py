"""`gkd run` after validation and preflight: plan, load, train, save.

The command line is in `gkd_schema/cli/run_cmd.py`; this module is the library
behind it and can be called from Python (`execute`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gkd_schema.config.resolved import dump_resolved_yaml
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.checklist import check_run
from gkd_schema.runner.preflight.cpu_threads import choose_threads
from gkd_schema.runner.preflight.output_plan import newest_checkpoint
from gkd_schema.runner.preflight.run_plan import RunPlan, RunSetupError
from gkd_schema.runner.train.banner import dry_run_text, end_summary, start_banner
from gkd_schema.runner.train.data_loading import DataError, DataSummary, load_split_with_format
from gkd_schema.runner.train.errors import RunFailedError
from gkd_schema.runner.train.hooks import RunContext, RunHook, call_hooks
from gkd_schema.runner.train.hub_offline import run_offline
from gkd_schema.runner.train.interrupt import EXIT_INTERRUPTED
from gkd_schema.runner.train.leave_together import leave_together
from gkd_schema.runner.train.output_dir import clear_previous_run, record_resolved_config
from gkd_schema.runner.train.publish import publish, save_final
from gkd_schema.runner.train.student_tokenizer import rendered_row_lines
from gkd_schema.runner.train.warning_dedup import TIED_LM_HEAD_NOTICE, one_warning_per_kind

EXIT_OK = 0


def load_data(config: RunConfig, base_dir: Path) -> tuple[Any, Any, DataSummary]:
    """Training and (optional) evaluation conversations, and their rows and formats.

    Raises:
        RunSetupError: The data is missing or has unusable rows.
    """
    errors = []
    loaded: dict[str, Any] = {}
    summary = DataSummary()
    for split in ("train", "eval"):
        source = getattr(config.data, split)
        if source is None:
            continue
        try:
            loaded[split], summary.formats[split] = load_split_with_format(
                source, split, base_dir, system_prompt=config.data.system_prompt
            )
            summary.rows[split] = len(loaded[split])
        except DataError as exc:
            errors.extend(exc.diagnostics)
    if errors or "train" not in loaded:
        raise RunSetupError(errors)
    return loaded["train"], loaded.get("eval"), summary


def _load_student(plan: RunPlan, quantized: dict[str, Any]) -> tuple[Any, Any]:
    """The student model (4-bit with `quantized` arguments, for QLoRA) and its tokenizer."""
    from transformers import AutoModelForCausalLM

    from gkd_schema.runner.train.student_tokenizer import load_student_tokenizer

    m, dtype = plan.config.model, plan.precision.student_dtype
    tokenizer = load_student_tokenizer(plan)
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": m.trust_remote_code}
    if m.revision:
        kwargs["revision"] = m.revision
    if m.attn_implementation:
        kwargs["attn_implementation"] = m.attn_implementation
    student = AutoModelForCausalLM.from_pretrained(m.name_or_path, **kwargs, **quantized)
    return student, tokenizer


def _peft_config(config: RunConfig) -> Any:
    """A peft `LoraConfig` for the `peft` section, or None."""
    if config.peft is None:
        return None
    from peft import LoraConfig

    p = config.peft
    return LoraConfig(
        r=p.r,
        lora_alpha=p.lora_alpha,
        lora_dropout=p.lora_dropout,
        target_modules=p.target_modules,
        bias=p.bias,
        task_type="CAUSAL_LM",
    )


def build_trainer(
    plan: RunPlan, train: Any, evaluation: Any, callbacks: Sequence[Any] = ()
) -> tuple[Any, Any]:
    """Load the student (and, through TRL, a local teacher) and build gkd's trainer.

    Returns:
        `(trainer, tokenizer)`.
    """
    from gkd_schema.runner.train.quantization import quantized_load_kwargs
    from gkd_schema.runner.train.teacher_setup import teacher_arguments
    from gkd_schema.runner.train.trainer import GkdTrainer

    quantized = quantized_load_kwargs(plan.config.peft, plan.precision)
    student, tokenizer = _load_student(plan, quantized)
    trainer = GkdTrainer(
        model=student,
        **teacher_arguments(plan, student),
        args=plan.gkd_config,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        peft_config=_peft_config(plan.config),
        callbacks=list(callbacks),
        loss_implementation=plan.config.gkd.loss_implementation,
        top_k=plan.config.teacher.top_k,
        top_k_tail=plan.config.teacher.top_k_tail,
        run_config=plan.config,
        generation=plan.config.generation,
    )
    return trainer, tokenizer


def execute(
    config: RunConfig,
    *,
    base_dir: Path,
    overwrite: bool = False,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    callbacks: Sequence[Any] = (),
    hooks: Sequence[RunHook] = (),
    plan: RunPlan | None = None,
) -> int:
    """Run (or dry-run) a validated config.

    Args:
        config: A config `gkd validate` accepted (and preflight passed).
        base_dir: Directory relative paths are resolved against (the working directory).
        overwrite: Replace a previous run in `output_dir`.
        dry_run: Stop after building the trainer arguments and print them.
        echo: Prints a line to the user (main process only).
        callbacks: Extra `TrainerCallback`s (tests, integrations).
        hooks: Called before the first step and after the final save, on the main
            process (`gkd run` passes the evaluation tables and the loss plot).
        plan: The plan `check_run` made (`gkd run` passes it); when None, `check_run`
            runs here and its warnings are echoed.

    Returns:
        The exit code: 0 finished (or dry run), 130 stopped by Ctrl-C.

    Raises:
        RunSetupError: A problem found before any weights are loaded.
        RunFailedError: Loading the models, building the trainer, training or the push failed.
    """
    with one_warning_per_kind():
        if plan is None:
            plan = _checked_plan(config, base_dir, overwrite, echo)
        train, evaluation, sizes = load_data(config, base_dir)
        if dry_run:
            echo(dry_run_text(plan, sizes, rendered_row_lines(plan, train)))
            return EXIT_OK
        return _train(plan, train, evaluation, sizes, echo, callbacks, hooks)


def _checked_plan(config: RunConfig, base_dir: Path, overwrite: bool, echo: Callable[[str], None]) -> RunPlan:
    """Every pre-weights check of `gkd run`; raises with all errors, echoes warnings."""
    check = check_run(config, base_dir=base_dir, overwrite=overwrite)
    if check.plan is None:
        raise RunSetupError(check.errors)
    for warning in check.diagnostics:
        echo(f"warning: {'.'.join(map(str, warning.loc))}: {warning.message}")
    return check.plan


def _train(
    plan: RunPlan,
    train: Any,
    evaluation: Any,
    sizes: DataSummary,
    echo: Callable[[str], None],
    extra_callbacks: Sequence[Any],
    hooks: Sequence[RunHook],
) -> int:
    """Load, train, save; the part of `execute` that needs weights."""
    from accelerate import PartialState
    from transformers.trainer_callback import ProgressCallback

    from gkd_schema.runner.train.callbacks import DecisionLog, ReadableProgress, StepTimer, StopOnInterrupt
    from gkd_schema.runner.train.interrupt import graceful_interrupt

    state = PartialState()
    # Every process has checked the output directory; only now may one write to it.
    state.wait_for_everyone()
    main = state.is_main_process
    say = echo if main else (lambda _line: None)
    output_dir = plan.output.output_dir
    if main and plan.output.clear_previous:
        clear_previous_run(output_dir)
    state.wait_for_everyone()

    threads = None
    if plan.device.kind == "cpu":
        import torch

        threads = choose_threads(plan.config.training.cpu_threads, state.num_processes)
        torch.set_num_threads(threads.threads)

    from transformers.utils import logging as hf_logging

    if plan.offline:
        run_offline()

    # Loading and writing bars before the banner say nothing the banner does not.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    with graceful_interrupt(say) as flag, one_warning_per_kind() as notices:
        try:
            trainer, tokenizer = build_trainer(plan, train, evaluation, extra_callbacks)
        except (OSError, ValueError, KeyError, RuntimeError, ImportError) as exc:
            # Missing files, vocabulary mismatch, no pad token, an accelerate setup the
            # machine cannot run: a sentence, not a traceback.
            raise RunFailedError(f"could not load the models or build the trainer: {exc}") from exc
        if getattr(trainer.model.config, "tie_word_embeddings", False):
            notices.also(TIED_LM_HEAD_NOTICE)
        if trainer.pop_callback(ProgressCallback) is not None:
            trainer.add_callback(ReadableProgress())
        timer = StepTimer(trainer.on_policy)
        stopper = StopOnInterrupt(flag, trainer.accelerator.device)
        for callback in (timer, stopper, DecisionLog(trainer.on_policy, output_dir, state.process_index)):
            trainer.add_callback(callback)
        context = RunContext(
            plan.config, output_dir, trainer, tokenizer, train, evaluation, say,
            resume_from=plan.output.resume_from,
        )
        if main:
            output_dir.mkdir(parents=True, exist_ok=True)
            record_resolved_config(output_dir, dump_resolved_yaml(plan.config))
            say(start_banner(plan, trainer.model, trainer.teacher_model, sizes, state.num_processes, threads))
            call_hooks("before_training", context, hooks)
        resume = str(plan.output.resume_from) if plan.output.resume_from else None
        try:
            result = trainer.train(resume_from_checkpoint=resume)
        except Exception as exc:  # a failed run ends with what to do, not a traceback
            raise RunFailedError(_failure_text(plan, trainer.state.global_step, exc)) from exc

    metrics = dict(result.metrics)
    if stopper.stopped_at is not None:
        say(end_summary(plan, metrics, timer.times, trainer.on_policy, stopper.stopped_at))
        say(f"The last checkpoint is complete; {_how_to_continue(plan)}.")
        return leave_together(state, EXIT_INTERRUPTED)
    save_final(trainer, output_dir, metrics, evaluation)
    if main:
        call_hooks("after_training", context, hooks)
    pushed = publish(trainer, context.model_card)
    say(end_summary(plan, metrics, timer.times, trainer.on_policy, None))
    if pushed:
        say(f"Pushed the model and its card to {pushed}")
    return leave_together(state, EXIT_OK)


def _how_to_continue(plan: RunPlan) -> str:
    """What to run to continue from the newest checkpoint, given the config's `resume`."""
    if plan.config.training.resume == "auto":
        return "run the same command again to continue from it (`training.resume` is `auto`)"
    return "continue with `training.resume: auto` (e.g. `gkd run CONFIG --set training.resume=auto`)"


def _failure_text(plan: RunPlan, step: int, exc: BaseException) -> str:
    """Why training stopped, and what survives of it."""
    newest = newest_checkpoint(plan.output.output_dir)
    if newest is None:
        after = (
            "no checkpoint was saved, so running again starts over in the same output "
            "directory (nothing to remove by hand)"
        )
    else:
        after = f"{newest.name} is complete; {_how_to_continue(plan)}"
    return f"training failed at step {step}: {type(exc).__name__}: {exc}; {after}"
