"""The trainer's generation backend, built from the run's `generation` section."""

from __future__ import annotations

from typing import Any

from gkd_schema.models.generation_section import GenerationSection
from gkd_schema.models.model_section import ModelSection
from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.backend import GenerationBackend
from gkd_schema.runner.generation.transformers_backend import TransformersBackend
from gkd_schema.runner.generation.vllm_backend import VllmBackend
from gkd_schema.runner.generation.vllm_engine import EngineSpec, kv_cache_bytes, start_engine
from gkd_schema.runner.generation.vllm_server_backend import VllmServerBackend
from gkd_schema.runner.generation.weight_transfer import TransferHandover
from gkd_schema.runner.preflight.trl_compat import unwrap_for_generation


def transformers_backend(trainer: Any, gradient_checkpointing_kwargs: Any) -> TransformersBackend:
    """transformers' `generate` through TRL, as TRL's GKD trainer samples."""
    return TransformersBackend(
        trainer.generate_on_policy_outputs,
        unwrap_for_generation(),
        trainer.accelerator,
        trainer.generation_kwargs,
        gradient_checkpointing_kwargs,
    )


def engine_spec(trainer: Any, settings: GenerationSection, student: ModelSection | None) -> EngineSpec:
    """The vLLM engine for the trainer's student: its checkpoint, dtype, device and batch."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    config = model.config
    if hasattr(model, "get_base_model"):  # LoRA: the engine loads the base, then gets merged weights
        config = model.get_base_model().config
    args, vllm = trainer.args, settings.vllm
    max_model_len = vllm.max_model_len or args.max_length
    dtype = next(model.parameters()).dtype
    if vllm.kv_cache_gib is not None:
        kv_bytes = int(vllm.kv_cache_gib * (1 << 30))
    else:
        kv_bytes = kv_cache_bytes(config, args.per_device_train_batch_size, max_model_len, dtype.itemsize)
    return EngineSpec(
        model=config._name_or_path,
        tokenizer=getattr(trainer.processing_class, "name_or_path", None) or config._name_or_path,
        revision=student.revision if student else None,
        dtype=str(dtype).removeprefix("torch."),
        device="cuda" if trainer.accelerator.device.type == "cuda" else "cpu",
        max_model_len=max_model_len,
        max_num_seqs=args.per_device_train_batch_size,
        gpu_memory_utilization=vllm.gpu_memory_utilization,
        kv_cache_bytes=kv_bytes,
        tensor_parallel_size=vllm.tensor_parallel_size,
        enable_prefix_caching=vllm.enable_prefix_caching,
        # Each rank samples its own prompts: its own stream of random numbers too.
        seed=args.seed + trainer.accelerator.process_index,
        trust_remote_code=bool(student and student.trust_remote_code),
        external_launcher=trainer.accelerator.num_processes > 1,
    )


def student_backend(
    trainer: Any, settings: GenerationSection | None, student: ModelSection | None
) -> GenerationBackend:
    """The backend that samples the student's on-policy completions.

    With several processes a colocated engine runs in each (its own prompts, its own
    seed); a server is shared, only the main process talking to it (`VllmServerBackend`).

    Raises:
        RuntimeError: Several processes hold shards of the student (FSDP, ZeRO-3).
    """
    if settings is None or settings.backend == "transformers":
        return transformers_backend(trainer, trainer.args.gradient_checkpointing_kwargs)
    import torch

    if trainer.accelerator.num_processes > 1:
        _refuse_shards(trainer, settings.vllm.mode)
    if settings.vllm.mode == "server":
        return _server_backend(trainer, settings)
    spec = engine_spec(trainer, settings, student)
    threads = torch.get_num_threads() if spec.device == "cpu" else None
    return VllmBackend(start_engine(spec, threads), trainer.accelerator.unwrap_model)


def _server_backend(trainer: Any, settings: GenerationSection) -> VllmServerBackend:
    """A client of the server the user started; preflight has checked it serves the student."""
    vllm = settings.vllm
    assert vllm.server_url is not None  # the section's validator requires it in server mode
    accelerator = trainer.accelerator
    several = accelerator.num_processes > 1
    server = VllmServer(vllm.server_url, vllm.connect_timeout_s, vllm.request_timeout_s)
    # Requests name the model as the server does; it serves one (preflight checked which).
    model_name = server.models()[0].id
    handover = None  # a checkpoint the server reloads
    if vllm.weight_sync != "checkpoint":
        handover = TransferHandover(server, vllm.weight_sync, vllm.weight_sync_host, vllm.weight_sync_port)
    return VllmServerBackend(
        server,
        model_name,
        accelerator.unwrap_model,
        handover,
        main_process=accelerator.is_main_process,
        ranks=AccelerateRanks(accelerator.process_index) if several else None,
    )


class AccelerateRanks:
    """The training processes through accelerate's object collectives (`VllmServerBackend`'s `Ranks`)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def share(self, value: Any) -> Any:
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value], from_process=0)[0]

    def gather(self, value: Any) -> list[Any]:
        from accelerate.utils import gather_object

        return list(gather_object([value]))


def _refuse_shards(trainer: Any, mode: str) -> None:
    """Several processes hand vLLM the weights each holds: they must hold the whole student.

    Raises:
        RuntimeError: FSDP or ZeRO-3 leaves each process a shard.
    """
    if getattr(trainer, "is_fsdp_enabled", False) or _zero3(trainer):
        raise RuntimeError(
            f"`generation.vllm.mode: {mode}` with several processes needs each to hold the whole student "
            "(plain data parallel, DeepSpeed ZeRO-1/2), not FSDP or ZeRO-3 shards; use one of those or "
            "`generation.backend: transformers`"
        )


def _zero3(trainer: Any) -> bool:
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return plugin is not None and getattr(plugin, "zero_stage", 0) == 3
