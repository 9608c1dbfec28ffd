"""The teacher stage: where the teacher's distributions over the vocabulary come from.

A local teacher is loaded by TRL's `GKDTrainer` from `gkd.teacher_model_name_or_path`,
and the loss stage runs its forward pass under `torch.no_grad()`. A served teacher
(`teacher.backend: server`) is never loaded: `server_topk` asks its vLLM server for the
top-K log-probs of each batch. Never imports another runner stage.
"""
