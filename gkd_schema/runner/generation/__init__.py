"""The generation stage: where on-policy and `seq_kd` completions come from.

Today gives the on-policy decision every process agrees on; the sampling itself is
TRL's `generate_on_policy_outputs` with transformers' `generate`, called by the
trainer. Generation backends (vLLM) belong here. Never imports another runner stage.
"""
