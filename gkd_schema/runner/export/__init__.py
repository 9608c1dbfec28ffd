"""The export stage: a run directory (finished or checkpointed) -> a model folder to ship.

Gives `gkd export`: the adapter or full weights a run saved, copied, or merged into the
base model (`--merge-lora`), with the tokenizer, as `from_pretrained` loads them. May
import `train` and the stages below it; never `eval`, `launch` or `cli`.
"""
