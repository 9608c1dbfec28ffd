"""Editor settings that map gkd config files to the schema, for `gkd schema --editor`.

The alternative to a modeline in every file: one setting that applies the schema
to files by name. Every editor below runs Red Hat's yaml-language-server, so the
mapping is the same `yaml.schemas` object in each editor's own syntax.
"""

from __future__ import annotations

import json
from enum import StrEnum

from gkd_schema.artifacts.schema_export import SchemaBlock, packaged_schema_path

# File names the mapping applies to: `gkd.yaml`, `*.gkd.yaml` and anything in a
# `gkd/` folder. yaml-language-server matches these globs against the whole path.
FILE_GLOBS: tuple[str, ...] = ("**/gkd.yaml", "**/*.gkd.yaml", "**/gkd/*.yaml")


class Editor(StrEnum):
    """An editor whose settings `gkd schema --editor` prints."""

    VSCODE = "vscode"
    NEOVIM = "neovim"
    HELIX = "helix"


def schema_location() -> str:
    """The absolute path of the installed schema, as yaml-language-server settings take it."""
    return packaged_schema_path(SchemaBlock.CONFIG).as_posix()


def render_editor_settings(editor: Editor, location: str | None = None) -> str:
    """The settings snippet for `editor`.

    Args:
        editor: Which editor's syntax to use.
        location: The schema path or URL; the installed schema when None.

    Returns:
        Text to paste into the editor's settings (VS Code `settings.json`, a
        Neovim Lua config, or Helix `languages.toml`).
    """
    where = location or schema_location()
    if editor is Editor.VSCODE:
        return json.dumps({"yaml.schemas": {where: list(FILE_GLOBS)}}, indent=2) + "\n"
    globs = ", ".join(json.dumps(glob) for glob in FILE_GLOBS)
    if editor is Editor.NEOVIM:
        return (
            "-- nvim-lspconfig (Neovim 0.11+: vim.lsp.config('yamlls', {...}) takes the same table)\n"
            'require("lspconfig").yamlls.setup({\n'
            "  settings = {\n"
            "    yaml = {\n"
            f"      schemas = {{ [{json.dumps(where)}] = {{ {globs} }} }},\n"
            "    },\n"
            "  },\n"
            "})\n"
        )
    return (
        "# ~/.config/helix/languages.toml (or .helix/languages.toml in a project)\n"
        "[language-server.yaml-language-server.config.yaml.schemas]\n"
        f"{json.dumps(where)} = [{globs}]\n"
    )
