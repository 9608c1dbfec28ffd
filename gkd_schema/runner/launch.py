"""Multi-process runs: `gkd run --num-processes N` relaunches itself via `accelerate launch`.

The parent validates, preflights and checks the output directory first, so a bad
config fails once, in seconds, instead of in N processes after they start. Each
child runs `python -m gkd_schema.runner run CONFIG ...` (the same command, minus the
launch options); `accelerate launch -m gkd_schema.runner run CONFIG` works directly
too. This module imports nothing heavy at import time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def is_main_process_env() -> bool:
    """Whether this process is rank 0 (or not launched at all), from the environment."""
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


def is_launched_child() -> bool:
    """Whether this process was started by a distributed launcher."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _free_port() -> int:
    """A TCP port free right now, so concurrent jobs on one machine do not collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _has_accelerator() -> bool:
    import torch

    return bool(torch.cuda.is_available()) or bool(
        getattr(torch, "xpu", None) is not None and torch.xpu.is_available()
    )


def launch_command(
    config_path: Path,
    child_args: Sequence[str],
    *,
    num_processes: int,
    accelerate_config: Path | None,
) -> tuple[list[str], dict[str, str]]:
    """The `accelerate launch` command line and environment for a multi-process run.

    Args:
        config_path: The gkd config file.
        child_args: Options every child gets (`--set ...`, `--overwrite`).
        num_processes: Processes in total on this machine (`--num-processes`).
        accelerate_config: An `accelerate config` file (DeepSpeed, FSDP, multi-node);
            its settings win over gkd's defaults.

    Returns:
        `(argv, env)`.
    """
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config is not None:
        cmd += ["--config_file", str(accelerate_config)]
        if num_processes > 1:
            cmd += ["--num_processes", str(num_processes)]
    else:
        cmd += ["--num_processes", str(num_processes), "--num_machines", "1"]
        cmd += ["--mixed_precision", "no", "--dynamo_backend", "no"]
        cmd += ["--main_process_port", str(_free_port())]
        if num_processes > 1:
            # torch.distributed.run, one process per device; on a CPU-only machine
            # accelerate's CPU mode would need mpirun, so use gloo through the same
            # launcher and tell the children to stay on the CPU.
            cmd.append("--multi_gpu")
            if not _has_accelerator():
                env["ACCELERATE_USE_CPU"] = "true"
    cmd += ["-m", "gkd_schema.runner", "run", str(config_path), *child_args]
    return cmd, env


def relaunch(
    config_path: Path,
    child_args: Sequence[str],
    *,
    num_processes: int,
    accelerate_config: Path | None,
) -> int:
    """Run the config in `num_processes` processes and return the launcher's exit code."""
    cmd, env = launch_command(
        config_path, child_args, num_processes=num_processes, accelerate_config=accelerate_config
    )
    proc = subprocess.Popen(cmd, env=env)
    interrupted = False
    while True:
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            # The terminal sent Ctrl-C to the children too; they save and stop at a
            # step boundary. Killing them here would cut a checkpoint in half.
            interrupted = True
            continue
        return 130 if interrupted and code != 0 else code
