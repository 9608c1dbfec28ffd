"""The one list of checks a run passes before any weights load, as docs/preflight.md shows it.

`render_table()` of `CHECKS` is the table in docs/preflight.md (a test keeps the two
equal, and keeps every diagnostic type the preflight modules emit in the list);
`checklist.check_run` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One row of the list: what is checked, the diagnostic type, its severity, the key."""

    what: str
    type: str
    severity: str
    key: str


_MODEL_KEYS = "`model.name_or_path`, `gkd.teacher_model_name_or_path`, `model.tokenizer_name_or_path`"
_TEACHER = "`gkd.teacher_model_name_or_path`"

CHECKS: tuple[Check, ...] = (
    Check("A local model path exists", "path_not_found", "error", _MODEL_KEYS),
    Check("... is a folder", "not_a_directory", "error", "same"),
    Check(
        "... holds a model (`config.json`; a PEFT adapter folder is named as such; a fetched Hub repo's file list too)",
        "not_a_model",
        "error",
        "same",
    ),
    Check("... holds weights (`*.safetensors`, `pytorch_model*.bin`; the same)", "no_weights", "error", "same"),
    Check("... its `config.json` is readable", "config_unreadable", "error", "same"),
    Check(
        "A tokenizer folder (or fetched Hub repo) holds a tokenizer",
        "not_a_tokenizer",
        "error",
        "`model.tokenizer_name_or_path`",
    ),
    Check(
        "A Hub repo is in the local cache (a model that is not has its config and tokenizer files fetched: "
        "never its weights, nothing with `--offline`)",
        "not_cached",
        "warning",
        "the repo's key",
    ),
    Check(
        "... or the Hub can be reached to download it (one request, 3 s timeout)",
        "hub_unreachable",
        "error",
        "same",
    ),
    Check(
        "... and `--offline` or `HF_HUB_OFFLINE` does not forbid the download",
        "hub_offline_not_cached",
        "error",
        "same",
    ),
    Check("A fetched Hub model exists (and is not private without a token)", "hub_repo_not_found", "error", "same"),
    Check("... is not gated for this account", "hub_gated", "error", "same"),
    Check("... has the student's `model.revision`", "hub_revision_not_found", "error", "`model.revision`"),
    Check("... could be fetched (5 s timeout per request)", "hub_fetch_failed", "warning", "the repo's key"),
    Check("Student and teacher `vocab_size` are equal", "vocab_mismatch", "error", _TEACHER),
    Check("... are known", "vocab_unknown", "warning", "same"),
    Check("`teacher.top_k` is at most the teacher's `vocab_size`", "top_k_exceeds_vocab", "error", "`teacher.top_k`"),
    Check(
        "Every student token id is the same token for the teacher (`get_vocab()` of both tokenizers: "
        "`tokenizer.json`, `tokenizer.model` or `vocab.json`/`merges.txt`)",
        "tokenizer_mismatch",
        "error",
        "same",
    ),
    Check("... and the end-of-sequence token is the same", "special_token_mismatch", "error", "same"),
    Check("... and the pad and bos tokens are the same", "special_token_mismatch", "warning", "same"),
    Check("... the teacher's tokenizer could be loaded to compare", "tokenizer_not_compared", "warning", "same"),
    Check(
        "The teacher's own chat template renders the first training row as the student's does (it reads the "
        "student's rendering)",
        "teacher_chat_template_differs",
        "warning",
        "`gkd.teacher_model_name_or_path`",
    ),
    Check(
        "With `cross_tokenizer: uld` instead: the teacher has a tokenizer to re-tokenise with",
        "cross_tokenizer_teacher_tokenizer_missing",
        "error",
        "`teacher.cross_tokenizer`",
    ),
    Check("... both tokenizers are fast (byte offsets)", "cross_tokenizer_needs_fast_tokenizer", "error", "same"),
    Check("... and they differ (else the shared loss is faster)", "cross_tokenizer_same_tokenizer", "warning",
          "same"),
    Check(
        "`max_length` fits both models' `max_position_embeddings`",
        "max_length_exceeds_positions",
        "error",
        "`training.max_length`",
    ),
    Check("The tokenizer loads", "tokenizer_load_failed", "error", "tokenizer key"),
    Check(
        "`model.chat_template` names a template TRL ships or a readable .jinja file",
        "chat_template_not_found",
        "error",
        "`model.chat_template`",
    ),
    Check("It has a chat template (or `model.chat_template`)", "missing_chat_template", "error", "tokenizer key"),
    Check("It has a pad token", "missing_pad_token", "error", "tokenizer key"),
    Check("Its length fits the student's `vocab_size`", "tokenizer_exceeds_vocab", "error", "tokenizer key"),
    Check("A data file exists", "data_not_found", "error", "`data.train.path` / `data.eval.path`"),
    Check("... can be parsed", "data_unreadable", "error (warning for a cached Hub dataset)", "same"),
    Check("... has rows", "data_empty", "error", "same"),
    Check("Each row is an object", "data_bad_row", "error", "same"),
    Check(
        "... has the columns of its format (`data.*.format`, else detected from the first row: `messages`, "
        "`prompt` + `completion`, alpaca's `instruction` + `output`, sharegpt's `conversations`), renamed by "
        "`data.*.columns`",
        "data_missing_columns",
        "error",
        "same",
    ),
    Check("Alpaca's `instruction` and `output` are text", "data_bad_alpaca", "error", "same"),
    Check("ShareGPT turns are `{from, value}`, from human/gpt/system", "data_bad_sharegpt", "error", "same"),
    Check("An optional `system` (or alpaca `input`) column is text", "data_bad_optional_text", "error", "same"),
    Check("`messages` is a list of `{role, content}`, both text", "data_bad_messages", "error", "same"),
    Check("`prompt`/`completion` are text or message lists", "data_bad_prompt_completion", "error", "same"),
    Check("... and not empty text", "data_empty_text", "warning", "same"),
    Check("The last message is the assistant's", "data_last_not_assistant", "error", "same"),
    Check("There is a prompt before the reply", "data_no_prompt", "error", "same"),
    Check("The chat template accepts the rows", "chat_template_rejects_row", "error", "same"),
    Check(
        "No completion fills `max_length` alone (TRL stops)",
        "completion_fills_max_length",
        "error",
        "`training.max_length`",
    ),
    Check("Prompt + `gkd.max_new_tokens` fits `max_length`", "prompt_too_long", "warning", "`training.max_length`"),
    Check(
        "The memory estimate fits the device",
        "memory_estimate_exceeds_device",
        "warning",
        "`gkd.loss_implementation` or `training.per_device_train_batch_size`",
    ),
    Check(
        "`liger` has `liger-kernel` installed",
        "liger_not_installed",
        "error",
        "`gkd.loss_implementation`",
    ),
    Check("... and a CUDA device", "liger_needs_cuda", "error", "same"),
    Check("QLoRA has `bitsandbytes` installed", "qlora_not_installed", "error", "`peft.load_in_4bit`"),
    Check("... and a CUDA device", "qlora_needs_cuda", "error", "same"),
    Check(
        "`generation.backend: vllm` has vLLM installed (the error names the install line)",
        "vllm_not_installed",
        "error",
        "`generation.backend`",
    ),
    Check("... and a CPU or CUDA device", "vllm_unsupported_device", "error", "same"),
    Check(
        "... and, on a CPU, a student whose head size the CPU build runs (32, 64, 80, 96, 112, 128, ...)",
        "vllm_head_dim_unsupported",
        "error",
        "same",
    ),
    Check("... and no 4-bit (QLoRA) student", "vllm_qlora_unsupported", "error", "same"),
    Check(
        "... and a colocated engine on one device",
        "vllm_tensor_parallel_unsupported",
        "error",
        "`generation.vllm.tensor_parallel_size`",
    ),
    Check(
        "`mode: server`: the server answers (within `connect_timeout_s`)",
        "vllm_server_unreachable",
        "error",
        "`generation.vllm.server_url`",
    ),
    Check("... in time", "vllm_server_timeout", "error", "same"),
    Check("... as a vLLM server does (JSON, token ids)", "vllm_server_bad_reply", "error", "same"),
    Check(
        "... serves the student (`/v1/models`: its path, or `--served-model-name`)",
        "vllm_server_serves_another_model",
        "error",
        "same",
    ),
    Check("... tokenizes a probe text as the student's tokenizer does", "vllm_server_tokenizer_mismatch", "error",
          "same"),
    Check("... accepts `training.max_length` tokens", "vllm_server_max_model_len_too_short", "error", "same"),
    Check(
        "... has the endpoints weight syncs use (`VLLM_SERVER_DEV_MODE=1`)",
        "vllm_server_refused",
        "error",
        "same",
    ),
    Check(
        "`weight_sync: nccl` or `gloo`: vLLM installed here too (its weight-transfer engine sends)",
        "vllm_weight_sync_needs_vllm",
        "error",
        "`generation.vllm.weight_sync`",
    ),
    Check("... and, for `nccl`, a CUDA student", "vllm_weight_sync_nccl_needs_cuda", "error", "same"),
    Check(
        "... and a server started with that weight-transfer engine (`--weight-transfer-config`)",
        "vllm_server_weight_transfer_mismatch",
        "error",
        "same",
    ),
    Check(
        "`teacher.backend: server`: the teacher server answers (within `connect_timeout_s`)",
        "teacher_server_unreachable",
        "error",
        "`teacher.server_url`",
    ),
    Check("... in time (`request_timeout_s`)", "teacher_server_timeout", "error", "same"),
    Check("... as a vLLM server does (JSON, prompt log-probs)", "teacher_server_bad_reply", "error", "same"),
    Check("... without refusing the requests gkd sends", "teacher_server_refused", "error", "same"),
    Check(
        "... serves the teacher (`/v1/models`: its path, or `--served-model-name`)",
        "teacher_server_serves_another_model",
        "error",
        "same",
    ),
    Check(
        "... tokenizes a probe text as the student's and the teacher's tokenizers do",
        "teacher_server_tokenizer_mismatch",
        "error",
        "same",
    ),
    Check(
        "... accepts `max_length` (+ `max_new_tokens` with on-policy batches) + 1 tokens",
        "teacher_server_max_model_len_too_short",
        "error",
        "same",
    ),
    Check(
        "... returns `top_k` log-probs per token (vLLM's `--max-logprobs`, 20 by default)",
        "teacher_server_top_k_above_cap",
        "error",
        "`teacher.top_k`",
    ),
    Check(
        "Each `report_to` tracker is installed (the error names its pip extra)",
        "tracker_not_installed",
        "error",
        "`training.report_to`",
    ),
    Check(
        "With `push_to_hub`, a Hub token is configured (`HF_TOKEN` or `hf auth login`; read locally, no request)",
        "hub_token_missing",
        "error",
        "`training.push_to_hub`",
    ),
    Check("... and neither `--offline` nor `HF_HUB_OFFLINE` forbids the upload", "hub_push_offline", "error", "same"),
    Check(
        "`extra_args` keys are GKDConfig arguments (with did-you-mean)",
        "unknown_extra_arg",
        "error",
        "`training.extra_args.KEY`",
    ),
    Check("... that have no key of their own in the config", "extra_arg_shadows_key", "error", "same"),
    Check("... that gkd does not set from elsewhere", "extra_arg_owned", "error", "same"),
    Check("... with values of the type GKDConfig declares", "extra_arg_wrong_type", "error", "same"),
    Check("TRL's GKDConfig accepts the arguments", "trl_config_error", "error", "the key TRL names"),
    Check(
        "`output_dir` is empty or absent, or resumed (`gkd run` only)",
        "output_dir_occupied",
        "error",
        "`training.output_dir`",
    ),
    Check("... is not a file", "output_dir_is_file", "error", "same"),
    Check(
        "A `resume` path is a complete checkpoint (has `trainer_state.json`)",
        "resume_checkpoint_missing",
        "error",
        "`training.resume`",
    ),
    Check(
        "A resumed run keeps its student, tokenizer, teacher, data and adapter (`gkd run` only)",
        "resume_changes_run",
        "error",
        "the changed key",
    ),
    Check("... other changed settings are listed", "resume_changes_settings", "warning", "`training.resume`"),
    Check("A check itself failed (a gkd bug; the run may still go ahead)", "preflight_failed", "warning", "its key"),
)


def render_table() -> str:
    """`CHECKS` as the Markdown table docs/preflight.md shows."""
    lines = ["| Check | Type | Severity | Key |", "|---|---|---|---|"]
    lines += [f"| {c.what} | `{c.type}` | {c.severity} | {c.key} |" for c in CHECKS]
    return "\n".join(lines) + "\n"
