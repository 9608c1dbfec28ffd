"""`generation.vllm.weight_sync`: how a vLLM server gets the student's weights after a step.

`checkpoint` (default) writes them to a folder the server reads and reloads from: the
server must see this machine's files. `nccl` and `gloo` broadcast the tensors to the
server's workers through vLLM's weight-transfer engine, with no file in between (the
server may be another machine): GPU to GPU with NCCL, or over TCP with gloo (gkd's
backend, any device). Only a server reads this, so the other settings are refused
with the colocated engine, and the rendezvous address and port without a broadcast.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic_core import PydanticCustomError

from gkd_schema.models.base import Problem, SectionRule

WeightSync = Literal["checkpoint", "nccl", "gloo"]

# The server's weight-transfer engine for each broadcast (gkd's gloo engine is registered as
# `gkd_gloo`, runner/generation/vllm_plugin.py), and the flag that starts it.
SERVER_BACKEND = {"nccl": "nccl", "gloo": "gkd_gloo"}
SERVER_FLAG = {sync: f"""--weight-transfer-config '{{"backend": "{b}"}}'""" for sync, b in SERVER_BACKEND.items()}

HOST_PATTERN = r"^[A-Za-z0-9.:-]+$"  # a host name, an IPv4 or an IPv6 address (no brackets)

NEEDS_SERVER = (
    "`weight_sync` is read only with `mode: server` (the colocated engine gets the weights in memory); "
    "set `mode: server` or remove `weight_sync`"
)
UNUSED = "is read only with `weight_sync: nccl` or `gloo`; set one of them or remove it"

weight_sync_field: Any = Field(
    default="checkpoint",
    description=(
        "With `mode: server`: how the server gets the student's weights after every optimizer step. "
        "`checkpoint` (default): a safetensors file in a temporary folder that the server reloads "
        "(it must read this machine's files). `nccl`: broadcast GPU to GPU by vLLM's weight-transfer "
        f"engine (CUDA on both sides; start the server with `{SERVER_FLAG['nccl']}`). `gloo`: the same "
        f"over TCP, any device (`{SERVER_FLAG['gloo']}`, gkd installed where the server runs). Both "
        "broadcasts need vLLM installed here too (docs/running.md)."
    ),
)
weight_sync_host_field: Any = Field(
    default=None,
    min_length=1,
    pattern=HOST_PATTERN,
    description=(
        "With `weight_sync: nccl` or `gloo`: the address of this machine that the server's workers "
        "connect to for the broadcast, without brackets for IPv6 (`nccl` takes IPv4 only). `null` "
        "(default): the address on the route to `server_url`."
    ),
)
weight_sync_port_field: Any = Field(
    default=None,
    ge=1,
    le=65535,
    description=(
        "With `weight_sync: nccl` or `gloo`: the port this machine listens on for the broadcast's "
        "rendezvous (open it in a firewall). `null` (default): a free port."
    ),
)


def weight_sync_schema() -> list[dict[str, Any]]:
    """The JSON Schema `allOf` entries of `WEIGHT_SYNC_RULES`."""
    address_unused = {
        key: {"type": "null", "errorMessage": f"`{key}` {UNUSED}"} for key in ("weight_sync_host", "weight_sync_port")
    }
    return [
        {
            "if": {"not": {"properties": {"mode": {"const": "server"}}, "required": ["mode"]}},
            "then": {"properties": {"weight_sync": {"const": "checkpoint", "errorMessage": NEEDS_SERVER}}},
        },
        {
            "if": {"not": {"properties": {"weight_sync": {"enum": ["nccl", "gloo"]}}, "required": ["weight_sync"]}},
            "then": {"properties": address_unused},
        },
    ]


def _needs_server(mode: str, weight_sync: str) -> list[Problem]:
    if weight_sync == "checkpoint" or mode == "server":
        return []
    return [(("weight_sync",), PydanticCustomError("vllm_weight_sync_needs_server", NEEDS_SERVER))]


def _address_unused(key: str, weight_sync: str, value: object) -> list[Problem]:
    if weight_sync != "checkpoint" or value is None:
        return []
    return [((key,), PydanticCustomError("vllm_weight_sync_address_unused", f"`{key}` {UNUSED}"))]


# The rules `weight_sync_schema` states: a broadcast without a server; an address without a broadcast.
WEIGHT_SYNC_RULES = (
    SectionRule(("mode", "weight_sync"), lambda s: _needs_server(s.mode, s.weight_sync)),
    SectionRule(("weight_sync", "weight_sync_host"), lambda s: _address_unused(
        "weight_sync_host", s.weight_sync, s.weight_sync_host
    )),
    SectionRule(("weight_sync", "weight_sync_port"), lambda s: _address_unused(
        "weight_sync_port", s.weight_sync, s.weight_sync_port
    )),
)
