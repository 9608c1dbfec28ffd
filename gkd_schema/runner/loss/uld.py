"""Cross-tokenizer distillation: GOLD's hybrid Universal Logit Distillation, through TRL's `ULDLoss`.

The two tokenisations of each completion are aligned by UTF-8 byte spans into groups that
end at the same byte; each group becomes one distribution per side, the chain rule
folding in the probabilities of the group's earlier tokens ("bayesian" merge: the
distribution at the group's last position times the probabilities of the tokens before
it, so every position is scored against the token it predicts). Then, per aligned
group, tokens both vocabularies spell alike go through the generalized JSD (`beta`), and
the rest through ULD's L1 distance between the sorted probabilities; the two parts are
weighted by the share of the teacher's vocabulary that matched (GOLD's adaptive weights).

TRL's implementation (`trl.experimental.gold.gold_trainer.ULDLoss`) does the alignment,
the merge and the reduction, with two settings of gkd's: the "bayesian" merge (TRL's
default "observed" merge pairs the distribution at a token's position with that same
token, one position early), and end-of-sequence tokens kept, so that the student learns
where the teacher stops. Its reduction is GOLD's: per sequence, the aligned groups' mean;
over the batch, the mean. In training each micro-batch's mean is then scaled by its
completion tokens over `num_items_in_batch`, so that it weighs what gkd's own loss (a sum
over tokens divided by `num_items_in_batch`, as TRL's) gives it: like there, the count
is the dataset's completions, and an on-policy batch with longer completions weighs more.
(Dividing by the number of micro-batches instead was measured: the permuted-vocabulary
quickstart reached 21% exact match instead of 48%.)

One change to GOLD's hybrid part (`_hybrid`): the JSD over the shared tokens gets one more
entry on each side, the mass that side puts on tokens the other vocabulary lacks. GOLD
leaves that mass out of the JSD (it is felt only through the shared tokens it left), and
when every teacher token is matched its adaptive weights give the sorted L1, where that
mass went, a weight of 0. Measured on the quickstart with a student that has two extra
word tokens: GOLD's loss taught it to answer every prompt with one of them (exact match
0% -> 0%); with the extra entry it reached 50% (docs/loss.md).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch


def _hybrid(loss_fn: Any, student_aligned: torch.Tensor, teacher_aligned: torch.Tensor) -> torch.Tensor:
    """GOLD's hybrid loss of aligned groups, with each side's unshared mass as one more JSD entry.

    Args:
        loss_fn: The `ULDLoss` (its vocabulary mapping and `beta`).
        student_aligned: `[groups, student_vocab]` merged probabilities.
        teacher_aligned: `[groups, teacher_vocab]` merged probabilities.
    """
    import torch.nn.functional as F
    from trl.experimental.gold.gold_trainer import GOLDTrainer

    device = student_aligned.device
    teacher_ids = torch.tensor(sorted(loss_fn._teacher_matched_ids), dtype=torch.long, device=device)
    student_ids = loss_fn.mapping_tensor.to(device)[teacher_ids]
    student_shared = torch.zeros(student_aligned.shape[-1], dtype=torch.bool, device=device)
    teacher_shared = torch.zeros(teacher_aligned.shape[-1], dtype=torch.bool, device=device)
    student_shared[student_ids], teacher_shared[teacher_ids] = True, True
    student_rest, teacher_rest = student_aligned[:, ~student_shared], teacher_aligned[:, ~teacher_shared]
    student_side = torch.cat([student_aligned[:, student_ids], student_rest.sum(-1, keepdim=True)], dim=-1)
    teacher_side = torch.cat([teacher_aligned[:, teacher_ids], teacher_rest.sum(-1, keepdim=True)], dim=-1)
    matched: torch.Tensor = GOLDTrainer.generalized_jsd_loss(  # type: ignore[no-untyped-call]
        student_side, teacher_side, labels=None, beta=loss_fn.beta, temperature=1.0, reduction="batchmean",
        logits_are_probs=True,
    )
    width = max(student_rest.shape[-1], teacher_rest.shape[-1])
    unmatched = torch.zeros((), device=device, dtype=student_aligned.dtype)
    if width:
        s_sorted = F.pad(student_rest.sort(dim=-1, descending=True).values, (0, width - student_rest.shape[-1]))
        t_sorted = F.pad(teacher_rest.sort(dim=-1, descending=True).values, (0, width - teacher_rest.shape[-1]))
        unmatched = F.l1_loss(s_sorted, t_sorted, reduction="sum") / student_aligned.shape[0]
    share = len(teacher_ids) / max(1, teacher_aligned.shape[-1])  # GOLD's adaptive weights
    loss_fn.last_matched_loss, loss_fn.last_unmatched_loss = matched, unmatched
    total: torch.Tensor = share * matched + (1.0 - share) * unmatched
    return total


def uld_loss_fn(student_tokenizer: Any, teacher_tokenizer: Any, *, beta: float, device: Any = None) -> Any:
    """TRL's `ULDLoss` configured as gkd uses it (hybrid, byte-offset alignment, bayesian merge)."""
    from trl.experimental.gold.gold_trainer import ULDLoss

    settings = SimpleNamespace(
        uld_crossentropy_weight=0.0,
        uld_distillation_weight=1.0,
        uld_student_temperature=1.0,
        uld_teacher_temperature=1.0,
        uld_skip_student_eos=False,
        uld_skip_teacher_eos=False,
        use_extended_uld=True,
        uld_token_merge_strategy="bayesian",
        uld_use_hybrid_loss=True,
        uld_hybrid_matched_weight=None,
        uld_hybrid_unmatched_weight=None,
        beta=beta,
    )
    # ULDLoss reads only these attributes of its GOLDConfig.
    loss_fn = ULDLoss(
        settings,  # type: ignore[arg-type]
        student_tokenizer=student_tokenizer,
        teacher_tokenizer=teacher_tokenizer,
        device=device,
    )
    # GOLD's hybrid part, replaced per instance (see the module docstring).
    loss_fn._compute_hybrid_uld_loss = lambda s, t: _hybrid(loss_fn, s, t)  # type: ignore[method-assign]
    return loss_fn


def uld_loss(
    loss_fn: Any,
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    *,
    student: dict[str, torch.Tensor],
    teacher: dict[str, torch.Tensor],
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """The hybrid ULD loss of one batch.

    Args:
        loss_fn: From `uld_loss_fn`.
        student_logits: `[batch, seq, student_vocab]`.
        teacher_logits: `[batch, teacher_seq, teacher_vocab]` on the teacher's tokens.
        student: `input_ids`, `labels` and `byte_offsets` of the student's batch.
        teacher: The same three for the teacher's re-tokenised batch.
        num_items_in_batch: Completion tokens of the optimizer step's dataset batches (given
            in training); this batch's mean is scaled by its own completion tokens over it.
    """
    loss: torch.Tensor = loss_fn(
        student_logits,
        teacher_logits.to(student_logits.dtype),
        student["labels"],
        teacher["labels"],
        student["input_ids"],
        teacher["input_ids"],
        student_byte_offsets=student["byte_offsets"],
        teacher_byte_offsets=teacher["byte_offsets"],
    )
    loss = loss.reshape(())
    if num_items_in_batch is not None:
        here = (student["labels"] != -100).sum()
        total = num_items_in_batch
        if isinstance(total, torch.Tensor):
            total = total.to(loss.device)
        loss = loss * here.to(loss.dtype) / total
    return loss
