"""The loss of a run whose teacher has another tokenizer (`teacher.cross_tokenizer: uld`).

Every batch, dataset or on-policy, is re-tokenised for the teacher from its text
(`teacher/cross_tokenizer.py`); the student runs on its own tokens, the teacher on its
own, and GOLD's hybrid ULD compares the two over byte-aligned groups (`loss/uld.py`).
"""

from __future__ import annotations

from typing import Any

import torch

from gkd_schema.runner.loss.uld import uld_loss, uld_loss_fn
from gkd_schema.runner.teacher.cross_tokenizer import retokenize


class CrossTokenizerLoss:
    """Computes the ULD loss of a batch from the two models and their tokenizers.

    Args:
        student_tokenizer: The student's tokenizer (the batch's ids are its).
        teacher_tokenizer: The teacher's.
        beta: `gkd.beta`, for the generalized JSD on the shared part of the vocabularies.
    """

    def __init__(self, student_tokenizer: Any, teacher_tokenizer: Any, *, beta: float) -> None:
        self.student_tokenizer, self.teacher_tokenizer = student_tokenizer, teacher_tokenizer
        self._loss_fn = uld_loss_fn(student_tokenizer, teacher_tokenizer, beta=beta)

    def __call__(
        self,
        model: Any,
        teacher_model: Any,
        inputs: dict[str, Any],
        *,
        num_items_in_batch: Any = None,
        return_outputs: bool = False,
    ) -> Any:
        """The loss (and, with `return_outputs`, the student's outputs) of one batch."""
        ids, mask, labels = inputs["input_ids"], inputs["attention_mask"], inputs["labels"]
        view = retokenize(ids.cpu(), mask.cpu(), labels.cpu(), self.student_tokenizer, self.teacher_tokenizer)
        device = ids.device
        outputs = model(input_ids=ids, attention_mask=mask)
        teacher_model.eval()
        with torch.no_grad():
            teacher_logits = teacher_model(
                input_ids=view.input_ids.to(device), attention_mask=view.attention_mask.to(device)
            ).logits
        if self._loss_fn.mapping_tensor.device != device:
            self._loss_fn.mapping_tensor = self._loss_fn.mapping_tensor.to(device)
        loss = uld_loss(
            self._loss_fn,
            outputs.logits,
            teacher_logits,
            student={"input_ids": ids, "labels": labels, "byte_offsets": view.student_byte_offsets.to(device)},
            teacher={
                "input_ids": view.input_ids.to(device),
                "labels": view.labels.to(device),
                "byte_offsets": view.byte_offsets.to(device),
            },
            num_items_in_batch=num_items_in_batch,
        )
        return (loss, outputs) if return_outputs else loss
