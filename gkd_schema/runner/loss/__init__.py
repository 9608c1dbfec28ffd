"""The loss stage: student and teacher outputs -> the generalised JSD loss of a batch.

Gives the memory-lean implementations (`chunked`, `fused`, `liger`, TRL's) and their
integration as `GKDTrainer.compute_loss`. Imports torch (and liger, trl lazily); never
another runner stage.
"""
