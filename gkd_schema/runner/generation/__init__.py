"""The generation stage: where on-policy and `seq_kd` completions come from.

Gives the on-policy decision every process agrees on (`on_policy.py`) and the backends
the trainer samples through (`backend.py`, the interface): transformers' `generate`
through TRL (`transformers_backend.py`) and a vLLM engine colocated in the training
process (`vllm_engine.py` starts it, `vllm_sync.py` hands it the student's weights,
`vllm_backend.py` samples, `completions.py` turns its token lists into TRL's tensors),
or a vLLM server (`vllm_server_backend.py`; the weights reach it as a checkpoint,
`weights_file.py`, or by broadcast, `weight_transfer.py`, to the address `route.py`
finds). `vllm_plugin.py` is gkd's vLLM plugin: it registers `gloo_transfer.py`, the
gloo weight-transfer engine, in the server.
Imports vLLM only inside functions (`gloo_transfer.py`, which vLLM or the broadcast
imports, excepted), and never another runner stage.
"""
