"""Estimate the accelerator memory of a GKD run from shapes alone.

Assumptions (each term is per device; data parallelism replicates all of them):

- Student: full fine-tuning keeps weights, gradients and AdamW's two moments in the
  dtype the student is loaded in (the Trainer keeps no float32 master copy), so
  4 x bytes-per-parameter per trainable parameter. With LoRA the frozen base holds
  only weights; the adapters are float32 (PEFT's default) with gradients and moments.
- Teacher: weights only, in its load dtype (it runs under no_grad).
- Logits: one batch of `batch x max_length x vocab` float32 values, times the working
  set of the loss: TRL's `generalized_jsd_loss` peaks at about 15x that at 0 < beta < 1
  and 8x at beta 0 or 1 (measured, docs/gkd-notes.md); `chunked` keeps the student's
  and teacher's logits plus their gradient buffer (3x) and a small chunk buffer;
  `fused` and `liger` never build the full logits, leaving the gradient buffer (1x).
- Activations: the saved activations of the student's backward, about 34 bytes per
  token per hidden unit per layer at 16-bit (Korthikanti et al. 2022, without the
  attention-score term that SDPA/flash attention avoid); with gradient checkpointing,
  one hidden state per layer plus one layer's full set.

Not counted: the KV cache of on-policy generation, the CUDA context and allocator
fragmentation. The estimate is a floor, not a promise.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
CHUNK_BUFFERS_BYTES = 256 * 1024**2
ADAPTER_BYTES = 4  # PEFT keeps LoRA weights in float32 even on a 16-bit base
LORA_LINEARS_PER_LAYER = 7  # q, k, v, o, gate, up, down


@dataclass(frozen=True)
class MemoryInputs:
    """The shapes and settings the estimate depends on.

    Attributes:
        student_params: Parameters of the student.
        student_bytes: Bytes per student parameter as loaded (4 fp32, 2 bf16/fp16).
        teacher_params: Parameters of the teacher.
        teacher_bytes: Bytes per teacher parameter as loaded.
        vocab_size: The student's vocab_size (the logits' last dimension).
        hidden_size: The student's hidden size.
        num_layers: The student's decoder layers.
        batch_size: `training.per_device_train_batch_size`.
        max_length: `training.max_length`.
        beta: `gkd.beta` (TRL's loss needs more memory strictly between 0 and 1).
        loss_implementation: `gkd.loss_implementation`.
        gradient_checkpointing: `training.gradient_checkpointing`.
        lora_rank: `peft.r` when training LoRA adapters, else None.
    """

    student_params: int
    student_bytes: float
    teacher_params: int
    teacher_bytes: float
    vocab_size: int
    hidden_size: int
    num_layers: int
    batch_size: int
    max_length: int
    beta: float
    loss_implementation: str
    gradient_checkpointing: bool
    lora_rank: int | None = None


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per device, term by term."""

    student_weights: int
    gradients: int
    optimizer_state: int
    teacher_weights: int
    logits: int
    activations: int
    trainable_params: int

    @property
    def total(self) -> int:
        """The sum of every term."""
        return (
            self.student_weights
            + self.gradients
            + self.optimizer_state
            + self.teacher_weights
            + self.logits
            + self.activations
        )

    def breakdown(self) -> str:
        """One line: each term in GiB, e.g. `student 0.9 + gradients 0.9 + ...`."""
        terms = (
            ("student", self.student_weights),
            ("gradients", self.gradients),
            ("AdamW state", self.optimizer_state),
            ("teacher", self.teacher_weights),
            ("logits", self.logits),
            ("activations", self.activations),
        )
        return " + ".join(f"{name} {gib(value)}" for name, value in terms)


def gib(nbytes: float) -> str:
    """Bytes as GiB with one decimal (two below 1 GiB), e.g. `14.2 GiB`."""
    value = nbytes / GIB
    return f"{value:.1f} GiB" if value >= 1 else f"{value:.2f} GiB"


def loss_factor(loss_implementation: str, beta: float) -> float:
    """Peak memory of the loss, in multiples of one batch's float32 logits."""
    if loss_implementation == "trl":
        return 8.0 if beta in (0.0, 1.0) else 15.0
    if loss_implementation == "chunked":
        return 3.0
    return 1.0  # fused, liger: only the gradient buffer is full-sized


def lora_parameters(hidden_size: int, num_layers: int, rank: int) -> int:
    """Approximate LoRA adapter parameters on every linear layer (`all-linear`).

    Each adapted linear adds `rank x (in + out)`; taking every projection as
    hidden x hidden under-counts the MLP a little, which the rank dwarfs anyway.
    """
    return num_layers * LORA_LINEARS_PER_LAYER * rank * 2 * hidden_size


def estimate_memory(inputs: MemoryInputs) -> MemoryEstimate:
    """Estimate the memory one device needs to train this GKD run.

    Args:
        inputs: Shapes and settings; see `MemoryInputs`.

    Returns:
        Each term in bytes; `total` sums them.
    """
    x = inputs
    per_trainable: float
    if x.lora_rank is not None:
        trainable = lora_parameters(x.hidden_size, x.num_layers, x.lora_rank)
        weights = x.student_params * x.student_bytes + trainable * ADAPTER_BYTES
        per_trainable = ADAPTER_BYTES
    else:
        trainable = x.student_params
        weights = x.student_params * x.student_bytes
        per_trainable = x.student_bytes
    tokens = x.batch_size * x.max_length
    logits = tokens * x.vocab_size * 4.0 * loss_factor(x.loss_implementation, x.beta)
    if x.loss_implementation != "trl":
        logits += CHUNK_BUFFERS_BYTES
    # 34 bytes per token per hidden unit per layer at 16-bit; scale for fp32.
    per_layer = 34 * tokens * x.hidden_size * (x.student_bytes / 2)
    if x.gradient_checkpointing:
        activations = x.num_layers * tokens * x.hidden_size * x.student_bytes + per_layer
    else:
        activations = x.num_layers * per_layer
    return MemoryEstimate(
        student_weights=int(weights),
        gradients=int(trainable * per_trainable),
        optimizer_state=int(2 * trainable * per_trainable),
        teacher_weights=int(x.teacher_params * x.teacher_bytes),
        logits=int(logits),
        activations=int(activations),
        trainable_params=trainable,
    )
