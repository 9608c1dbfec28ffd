"""What `gkd run` prints: the dry-run plan, the start banner and the end summary."""

from __future__ import annotations

from typing import Any

from gkd_schema.models.run_config import RunConfig
from gkd_schema.runner.preflight.cpu_threads import ThreadChoice
from gkd_schema.runner.preflight.locate import model_source, resolve_path
from gkd_schema.runner.preflight.run_plan import RunPlan
from gkd_schema.runner.train.callbacks import StepTimes
from gkd_schema.runner.train.data_loading import DataSummary
from gkd_schema.runner.train.on_policy_record import OnPolicyRecord


def _model_line(role: str, path: str, source: str, dtype: str, extra: str = "") -> str:
    return f"  {role:<10} {path}  ({source}; dtype {dtype}{extra})"


def _output_line(plan: RunPlan) -> str:
    out = plan.output
    if out.resume_from is not None:
        return f"{out.output_dir}  (resume from {out.resume_from.name})"
    if out.replaces_unstarted:
        return f"{out.output_dir}  (replaces a run that stopped before its first checkpoint)"
    if out.clear_previous:
        return f"{out.output_dir}  (--overwrite: the previous run's checkpoints are removed)"
    return f"{out.output_dir}  (new run)"


def _hub_text(plan: RunPlan) -> str | None:
    """Where and when the run pushes to the Hub, or None without `push_to_hub`."""
    t = plan.config.training
    if not t.push_to_hub:
        return None
    repo = t.hub_model_id or f"<your-namespace>/{plan.output.output_dir.name}"
    visibility = {True: "private", False: "public", None: "the namespace's default visibility"}[t.hub_private_repo]
    return f"push to {repo} ({visibility}; hub_strategy {t.hub_strategy}; the model card with the final push)"


def _on_policy_text(plan: RunPlan) -> str:
    gkd = plan.config.gkd
    rest = "teacher-generated (seq_kd)" if gkd.seq_kd else "dataset completions"
    if gkd.lmbda == 1:
        return "every batch student-generated"
    if gkd.lmbda == 0:
        return f"no batch student-generated: all {rest}"
    return f"{gkd.lmbda:.0%} of batches student-generated, the rest {rest}"


def _effective_batch(plan: RunPlan, world_size: int) -> str:
    t = plan.config.training
    total = t.per_device_train_batch_size * t.gradient_accumulation_steps * world_size
    return (
        f"{total} = {t.per_device_train_batch_size} per device x "
        f"{t.gradient_accumulation_steps} accumulation x {world_size} process(es)"
    )


def _load_lines(plan: RunPlan) -> list[str]:
    cfg = plan.config
    base = plan.base_dir
    tokenizer = cfg.model.tokenizer_name_or_path or cfg.model.name_or_path
    student, teacher = cfg.model.name_or_path, cfg.gkd.teacher_model_name_or_path
    lines = [
        _model_line("student", student, model_source(student, base), plan.precision.student_dtype,
                    ", trust_remote_code" if cfg.model.trust_remote_code else ""),
        f"  {'tokenizer':<10} {tokenizer}  ({model_source(tokenizer, base)})",
        _model_line("teacher", teacher, model_source(teacher, base), plan.precision.teacher_dtype,
                    ", trust_remote_code" if cfg.gkd.teacher_trust_remote_code else "")
        if cfg.teacher.backend == "local"
        else f"  {'teacher':<10} {teacher}  (served at {cfg.teacher.server_url}; top {cfg.teacher.top_k} log-probs)",
    ]
    if cfg.peft is not None:
        p = cfg.peft
        lines.append(
            f"  {'peft':<10} {'QLoRA (4-bit NF4 base)' if p.load_in_4bit else 'LoRA'} r={p.r} "
            f"alpha={p.lora_alpha} dropout={p.lora_dropout:g} targets={p.target_modules}"
        )
    for key, source in (("train", cfg.data.train), ("eval", cfg.data.eval)):
        if source is None:
            continue
        where = (
            str(resolve_path(source.path, base))
            if source.path
            else f"{source.name} (split {source.split}{', ' + source.config if source.config else ''})"
        )
        limit = f", first {source.max_samples} rows" if source.max_samples else ""
        lines.append(f"  {key + ' data':<10} {where}{limit}")
    return lines


def dry_run_text(plan: RunPlan, data: DataSummary, first_row: list[str] | None = None) -> str:
    """The `--dry-run` report: what would be loaded, the first row as rendered, and the exact GKDConfig arguments."""
    lines = ["gkd run --dry-run: no weights loaded, nothing written.", "", "Would load:"]
    lines += _load_lines(plan)
    lines += [
        "",
        f"Data:       {data.text('rows')}; checked and converted to `messages`",
        *(first_row or []),
        f"Precision:  {plan.precision.label} ({plan.precision.reason})",
        f"Output:     {_output_line(plan)}",
        *([f"Hub:        {hub}"] if (hub := _hub_text(plan)) else []),
        f"Generation: {generation_text(plan.config)}",
        f"Loss:       {_loss_text(plan.config)} (temperature {plan.config.gkd.temperature:g} is for "
        "sampling only, as in TRL's GKDTrainer)",
        "",
        "TRL keyword arguments:",
        "  GKDConfig(",
    ]
    lines += [f"    {key}={value!r}," for key, value in plan.trainer_kwargs.items()]
    served = plan.config.teacher.backend == "server"
    teacher = "<the teacher's config, no weights>" if served else repr(plan.config.gkd.teacher_model_name_or_path)
    lines += [
        "  )",
        "  GKDTrainer (gkd's subclass: seeded on-policy decisions, KV-cache generation, "
        f"{plan.config.gkd.loss_implementation} loss)(model=<student>, teacher_model={teacher}, "
        "args=<GKDConfig above>, "
        "train_dataset=<train data>, eval_dataset="
        f"{'<eval data>' if plan.config.data.eval else 'None'}, processing_class=<tokenizer>, "
        f"peft_config={'LoraConfig(...)' if plan.config.peft else 'None'})",
    ]
    return "\n".join(lines)


def _count(count: int) -> str:
    return f"{count / 1e6:.1f}M" if count >= 1e5 else f"{count:,}"


def _millions(model: Any) -> str:
    return f"{_count(sum(p.numel() for p in model.parameters()))} params"


def _student_size(model: Any, lora: bool) -> str:
    if not lora:
        return _millions(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return f"LoRA: {_count(trainable)} trainable of {_millions(model)}"


def start_banner(
    plan: RunPlan,
    student: Any,
    teacher: Any,
    data: DataSummary,
    world_size: int,
    threads: ThreadChoice | None = None,
) -> str:
    """The short banner printed before the first step."""
    cfg = plan.config
    t = cfg.training
    steps = f"{t.max_steps} steps" if t.max_steps else f"{t.num_train_epochs:g} epochs"
    return "\n".join(
        [
            "gkd run",
            f"  student    {cfg.model.name_or_path} ({_student_size(student, cfg.peft is not None)})",
            f"  teacher    {cfg.gkd.teacher_model_name_or_path} ({_teacher_text(cfg, teacher)})",
            f"  data       {data.text('conversations')}",
            f"  batch      {_effective_batch(plan, world_size)}; {steps}",
            f"  on-policy  {_on_policy_text(plan)}; {cfg.gkd.max_new_tokens} new tokens, "
            f"temperature {cfg.gkd.temperature:g}",
            f"  generation {generation_text(cfg)}",
            f"  precision  {plan.precision.label} ({plan.precision.reason}); device "
            f"{plan.device.name}",
            *([f"  threads    {threads.threads} ({threads.reason})"] if threads is not None else []),
            f"  loss       {_loss_text(cfg)}",
            f"  output     {_output_line(plan)}",
            *([f"  hub        {hub}"] if (hub := _hub_text(plan)) else []),
        ]
    )


def _teacher_text(cfg: RunConfig, teacher: Any) -> str:
    """The teacher's size, or where it is served and what it sends."""
    t = cfg.teacher
    if t.backend == "server":
        prefetch = "on" if t.prefetch else "off"
        return f"served at {t.server_url}; its top {t.top_k} log-probs per token, prefetch {prefetch}"
    return _millions(teacher)


def _teacher_summary(record: OnPolicyRecord) -> str | None:
    """What the teacher server cost: requests, their time, and how long the loss waited."""
    stats = record.teacher
    if stats is None or stats.requests == 0:
        return None
    return (
        f"server: {stats.requests} requests ({stats.sequences} sequences) took {stats.request_seconds:.2f} s; "
        f"the loss waited {stats.wait_seconds:.2f} s for them"
    )


def generation_text(cfg: RunConfig) -> str:
    """Which engine samples the on-policy completions, in words."""
    g = cfg.generation
    if g.backend == "transformers":
        return "transformers `generate` on the student"
    v = g.vllm
    if v.mode == "server":
        how = "reloaded there" if v.weight_sync == "checkpoint" else f"broadcast to it ({v.weight_sync})"
        return f"vLLM server at {v.server_url}; weights {how} after every optimizer step"
    length = v.max_model_len or cfg.training.max_length
    return (
        f"vLLM, colocated in the training process (max_model_len {length}, prefix caching "
        f"{'on' if v.enable_prefix_caching else 'off'}); weights synced after every optimizer step"
    )


def _generation_summary(record: OnPolicyRecord) -> str | None:
    """Generation and sync time and tokens per second, or None when nothing was generated."""
    stats = record.stats
    if stats.generations == 0:
        return None
    rate = stats.tokens_per_second
    text = (
        f"{record.backend}: {stats.generate_seconds:.2f} s for {stats.completion_tokens:,} tokens"
        + (f" ({rate:,.0f} tokens/s)" if rate is not None else "")
    )
    if stats.syncs:
        text += f"; weight sync {stats.sync_seconds:.2f} s ({stats.syncs} syncs)"
    return text


def _loss_text(cfg: RunConfig) -> str:
    """The loss in words: implementation, beta and, for a top-K teacher, K and the tail."""
    if cfg.teacher.cross_tokenizer is not None:
        return (f"cross-tokenizer hybrid ULD (GOLD): generalized JSD, beta {cfg.gkd.beta:g}, on the tokens both "
                "vocabularies share, sorted-probability L1 on the rest")
    text = f"{cfg.gkd.loss_implementation} generalized JSD, beta {cfg.gkd.beta:g}"
    if cfg.teacher.top_k is not None:
        tail = "plus a tail bucket" if cfg.teacher.top_k_tail else "renormalised, no tail"
        text += f", on the teacher's top {cfg.teacher.top_k} tokens ({tail})"
    return text


def end_summary(
    plan: RunPlan,
    metrics: dict[str, Any],
    times: StepTimes,
    record: OnPolicyRecord,
    interrupted_at: int | None,
) -> str:
    """The summary printed after training (or after a Ctrl-C stop)."""
    decisions = record.decisions
    median = times.median()
    share = times.generation_share()
    on = sum(1 for *_, d in decisions if d)
    lines = [
        "gkd run: stopped by Ctrl-C" if interrupted_at is not None else "gkd run: finished",
        f"  steps      {len(times.seconds)} this run"
        + (f" (stopped after step {interrupted_at})" if interrupted_at is not None else ""),
    ]
    if "train_loss" in metrics:
        lines.append(f"  loss       {metrics['train_loss']:.4g} (mean over this run)")
    mean = times.mean()
    if median is not None and mean is not None:
        # seq_kd batches are generated by the teacher: the share is not on-policy alone.
        generating = "generation (student and seq_kd teacher)" if plan.config.gkd.seq_kd else "on-policy generation"
        lines.append(
            f"  step time  {mean:.3f} s mean, {median:.3f} s median"
            + (f"; {share:.0%} in {generating}" if share is not None else "")
        )
    if decisions:
        lines.append(f"  on-policy  {on} of {len(decisions)} micro-batches")
    if (generation := _generation_summary(record)) is not None:
        lines.append(f"  generation {generation}")
    if (teacher := _teacher_summary(record)) is not None:
        lines.append(f"  teacher    {teacher}")
    lines.append(f"  output     {plan.output.output_dir}")
    return "\n".join(lines)
