"""The `gkd` console script.

`gkd validate` runs in pre-commit hooks and CI on every push, so its start-up is part
of its job: the command lines `gkd_schema.cli.fast_validate` reads run without Typer,
and for the rest the Typer app is built with only the command it was given (all of
them for `--help`, a typo or no command). The CLI runs without pydantic plugins
(`_without_pydantic_plugins`), set up before any model is built, and a validation
exits without the interpreter's teardown (`_leave`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import types
from typing import NoReturn

_PLUGIN_LOADER = "pydantic.plugin._loader"


def _without_pydantic_plugins() -> None:
    """Have pydantic find no plugins, without the discovery that costs a tenth of `gkd validate`.

    Pydantic looks for plugins (observability hooks such as logfire's) when it builds
    the first model, by importing `importlib.metadata` and scanning every installed
    distribution's entry points: 20-25 ms of a 0.2 s start-up, more in a large training
    environment. gkd's models need no plugin, so its CLI gives pydantic a loader that
    finds none (`tests/test_import_weight.py` pins it to pydantic's own loader's
    interface). A process that has already loaded pydantic's loader keeps it.
    """
    if _PLUGIN_LOADER not in sys.modules:
        loader = types.ModuleType(_PLUGIN_LOADER, "gkd's CLI: pydantic plugins are not looked for")
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        sys.modules[_PLUGIN_LOADER] = loader


def _leave(code: int) -> NoReturn:
    """Exit with `code`, skipping the interpreter's teardown where nothing needs it.

    Tearing the interpreter down (clearing every module, freeing the models and
    pydantic's validators) takes about 20 ms, a sixth of `gkd validate`, and does nothing
    a user sees once the output is flushed: a validation holds no open file and starts
    no thread. Where anything asked to run at exit (an `atexit` callback from a coverage
    tool or a sitecustomize, `--deep`'s libraries) or a thread still runs, the exit is
    the normal one.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`gkd validate ... | head`)
            stream.flush()
    threading = sys.modules.get("threading")
    if atexit._ncallbacks() == 0 and (threading is None or threading.active_count() == 1):
        os._exit(code)
    raise SystemExit(code)


def main() -> None:
    """Console-script entry point; Ctrl-C exits 130 without a traceback."""
    _without_pydantic_plugins()
    argv = sys.argv[1:]
    try:
        # The models are built on import, after the plugin loader is set; without the
        # collector's passes over the objects being built, which are all kept (5 ms).
        gc.disable()
        try:
            from gkd_schema.cli import fast_validate
        finally:
            gc.enable()
        code = fast_validate.run(argv)
        if code is None:
            from gkd_schema.cli.app import run_app

            run_app(argv)  # Typer exits with its own code
            return
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        raise SystemExit(130) from None
    _leave(code)
