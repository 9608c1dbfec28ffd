"""Multi-process runs: `gkd run --num-processes N` relaunches itself via `accelerate launch`.

The parent validates, preflights and checks the output directory first, so a bad
config fails once, in seconds, instead of in N processes after they start. Each
child runs `python -m gkd_schema.runner run CONFIG ...` (the same command, minus the
launch options); `accelerate launch -m gkd_schema.runner run CONFIG` works directly
too, but without the Ctrl-C handling below. This module imports nothing heavy at
import time.

Ctrl-C: `torch.distributed.run` (accelerate's launcher for several processes) starts
each rank in a session of its own, so a terminal's Ctrl-C reaches only the launcher.
Left alone, the launcher passes SIGINT on once and SIGKILLs every rank still running
30 s later (`TORCH_ELASTIC_SHUTDOWN_TIMEOUT`), cutting off a long step or checkpoint
save, and a second Ctrl-C makes it exit at once with the ranks still running.
`python -m gkd_schema.runner.launch` runs accelerate's launcher with SIGINT taken away
from torch: each Ctrl-C is passed on to every rank, which then behaves exactly as a
single-process run (first: finish the step, save, exit 130; second: abort), and the
launcher waits for them as long as they take.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from gkd_schema.runner.train.interrupt import EXIT_INTERRUPTED

# torch.distributed.run's default (`--signals_to_handle`); PET_* is its environment form.
_TORCH_HANDLED_SIGNALS = "SIGTERM,SIGINT,SIGHUP,SIGQUIT"
# Where children are listed from; without it (not Linux) torch keeps handling Ctrl-C.
_PROC_STAT = Path("/proc/self/stat")


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


def has_accelerator() -> bool:
    """Whether a CUDA or XPU device is visible (imports torch)."""
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
    # accelerate launch, with Ctrl-C passed on to the ranks (see the module docstring).
    cmd = [sys.executable, "-m", "gkd_schema.runner.launch"]
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
            if not has_accelerator():
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
            # The terminal sent Ctrl-C to the launcher too, which passes it on to the
            # ranks; they save and stop at a step boundary. Killing them here would
            # cut a checkpoint in half.
            interrupted = True
            continue
        return EXIT_INTERRUPTED if interrupted and code != 0 else code


def _child_groups() -> tuple[int, set[int]] | None:
    """How many children this process has, and their process groups other than ours.

    Returns None where children cannot be listed (no `/proc`).
    """
    if not _PROC_STAT.is_file():
        return None
    me, my_group = os.getpid(), os.getpgrp()
    children, groups = 0, set()
    for entry in _PROC_STAT.parents[1].iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # exited while we looked
            continue
        if int(fields[1]) == me:
            children += 1
            if int(fields[2]) != my_group:
                groups.add(int(fields[2]))
    return children, groups


class InterruptRelay:
    """SIGINT handler of the launcher: passes each Ctrl-C on to the ranks once.

    Children in the launcher's own process group got the terminal's SIGINT already
    (accelerate's single-process launcher keeps them there); sending them another
    would count as a second Ctrl-C, which aborts.
    """

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        """Forward the signal, or stop launching when no rank has started yet."""
        found = _child_groups()
        if not found or not found[0]:
            # Rendezvous, before any rank exists: stop launching, as plain Ctrl-C would.
            raise KeyboardInterrupt
        self.seen += 1
        for group in sorted(found[1]):
            with contextlib.suppress(ProcessLookupError):  # that rank has just exited
                os.killpg(group, signal.SIGINT)


def _without_sigint(signals: str) -> str:
    return ",".join(s for s in signals.split(",") if s.strip() and s.strip() != "SIGINT")


def launcher_main(argv: Sequence[str] | None = None) -> int:
    """`accelerate launch ARGS` with Ctrl-C passed on to the ranks; returns the exit code.

    Args:
        argv: accelerate launch's arguments (`sys.argv[1:]` when None).

    Returns:
        0, or 130 when the ranks stopped after a Ctrl-C.

    Raises:
        Exception: A failure without a Ctrl-C, as accelerate raises it.
    """
    from accelerate.commands.launch import launch_command as accelerate_launch
    from accelerate.commands.launch import launch_command_parser

    args = launch_command_parser().parse_args(argv)
    relay = InterruptRelay()
    if _PROC_STAT.is_file():
        # torch.distributed.run reads its default from PET_SIGNALS_TO_HANDLE; without
        # SIGINT there it leaves our handler in place.
        handled = os.environ.get("PET_SIGNALS_TO_HANDLE", _TORCH_HANDLED_SIGNALS)
        os.environ["PET_SIGNALS_TO_HANDLE"] = _without_sigint(handled)
        signal.signal(signal.SIGINT, relay)
    try:
        accelerate_launch(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (Exception, SystemExit) as exc:
        if relay.seen and not (isinstance(exc, SystemExit) and exc.code in (0, None)):
            # The ranks printed why they stopped; torch's "ChildFailedError" report of
            # exit code 130 would only bury that under a traceback.
            return EXIT_INTERRUPTED
        raise
    return 0

