"""The teacher stage: where the teacher's distributions over the vocabulary come from.

Today the teacher is a local model: TRL's `GKDTrainer` loads it from
`gkd.teacher_model_name_or_path`, and the loss stage runs its forward pass under
`torch.no_grad()`. Teacher backends (top-K log-probs, a log-prob server,
cross-tokenizer alignment) belong here. Never imports another runner stage.
"""
