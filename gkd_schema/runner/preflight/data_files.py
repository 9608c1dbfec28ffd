"""Read the first rows of a data source cheaply: a local file or a cached Hub dataset.

Only the first `limit` rows are read: JSON Lines and CSV are streamed line by line,
Parquet reads one batch, a JSON array is parsed whole (below a size bound). Hub
datasets come from the local cache through `datasets` in streaming mode.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import DatasetSource
from gkd_schema.runner.preflight.guard import exception_text
from gkd_schema.runner.preflight.locate import locate_hub_dataset, resolve_path

DEFAULT_ROWS = 32
MAX_JSON_ARRAY_BYTES = 512 * 1024**2  # a JSON array must be parsed whole; cap the cost


@dataclass
class RowSample:
    """The first rows of one data source.

    Attributes:
        label: How messages name the source: the path as written, or `name (split)`.
        format: `jsonl`, `json`, `parquet`, `csv` or `hub`.
        rows: `(where, row)` pairs; `where` reads `row 3` or `line 3`.
    """

    label: str
    format: str
    rows: list[tuple[str, Any]] = field(default_factory=list)


class _BadFile(Exception):
    """A data file that cannot be parsed, with the sentence that says where."""


def _jsonl_rows(path: Path, limit: int) -> Iterator[tuple[str, Any]]:
    with path.open("r", encoding="utf-8") as fh:
        count = 0
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except ValueError as exc:
                raise _BadFile(f"line {number} is not valid JSON ({exc})") from exc
            count += 1
            if count >= limit:
                return


def _json_rows(path: Path, limit: int) -> list[tuple[str, Any]]:
    with path.open("r", encoding="utf-8") as fh:
        head = fh.read(1024).lstrip()
    if not head.startswith("["):
        # `datasets` reads a .json of one object per line as JSON Lines; so do we.
        try:
            return list(_jsonl_rows(path, limit))
        except _BadFile:
            if not head.startswith("{"):
                raise
            # ...and a single pretty-printed object as one row.
    if path.stat().st_size > MAX_JSON_ARRAY_BYTES:
        raise _BadFile("is too large a JSON document to sample cheaply; convert it to .jsonl")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise _BadFile(f"is not valid JSON ({exc})") from exc
    rows = data[:limit] if isinstance(data, list) else [data]
    return [(f"row {i}", row) for i, row in enumerate(rows, start=1)]


def _parquet_rows(path: Path, limit: int) -> list[tuple[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise _BadFile("needs pyarrow to be read; install gkd's `train` extra") from exc

    try:
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=limit), None)
    except Exception as exc:  # pyarrow's errors have no common base worth naming
        raise _BadFile(f"is not a readable Parquet file ({exc})") from exc
    rows = batch.to_pylist() if batch is not None else []
    return [(f"row {i}", row) for i, row in enumerate(rows, start=1)]


def _csv_rows(path: Path, limit: int) -> list[tuple[str, Any]]:
    with path.open("r", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return [(f"row {i}", row) for i, row in enumerate(islice(reader, limit), start=1)]


_READERS = {".jsonl": _jsonl_rows, ".json": _json_rows, ".parquet": _parquet_rows, ".csv": _csv_rows}


def _read_local(
    source_path: str, *, loc: Loc, base_dir: Path, limit: int
) -> tuple[RowSample | None, list[Diagnostic]]:
    path = resolve_path(source_path, base_dir)
    key = ".".join(map(str, loc))
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        return None, [
            Diagnostic(
                loc=loc,
                message=(
                    f"{source_path} {what} (resolved to {path}; relative paths start at the "
                    f"directory gkd runs in, {base_dir}); fix `{key}`"
                ),
                type="data_not_found",
            )
        ]
    suffix = path.suffix.lower()
    sample = RowSample(source_path, suffix.lstrip("."))
    try:
        sample.rows = list(_READERS[suffix](path, limit))
    except (_BadFile, UnicodeDecodeError, OSError, csv.Error) as exc:
        return None, [
            Diagnostic(
                loc=loc,
                message=f"{source_path} {exc}; fix the file or point `{key}` at another",
                type="data_unreadable",
            )
        ]
    return sample, []


def _read_hub(
    source: DatasetSource, *, loc: Loc, limit: int
) -> tuple[RowSample | None, list[Diagnostic]]:
    assert source.name is not None
    folder, diagnostics = locate_hub_dataset(source.name, loc=loc)
    if folder is None:
        return None, diagnostics
    label = f"{source.name} (split {source.split})"
    try:
        import datasets

        stream = datasets.load_dataset(
            str(folder), name=source.config, split=source.split, streaming=True
        )
        rows = list(islice(iter(stream), limit))
    except Exception as exc:  # datasets raises a zoo of errors; each means "not readable"
        reason = exception_text(exc)
        section = ".".join(map(str, loc[:-1]))
        bad_split = "split" in reason.lower()
        return None, [
            Diagnostic(
                loc=(*loc[:-1], "split") if bad_split else loc,
                message=(
                    f"cannot read split `{source.split}` of the cached dataset {source.name} "
                    f"({reason}); check `{section}.split` and `{section}.config`, or "
                    f"re-download it with `hf download {source.name} --repo-type dataset`"
                ),
                type="data_unreadable",
                severity="warning",
            )
        ]
    return RowSample(label, "hub", [(f"row {i}", r) for i, r in enumerate(rows, 1)]), []


def read_rows(
    source: DatasetSource, *, loc: Loc, base_dir: Path, limit: int = DEFAULT_ROWS
) -> tuple[RowSample | None, list[Diagnostic]]:
    """Read the first rows of a data source, offline.

    Args:
        source: A `data.train` or `data.eval` entry.
        loc: Its config key (`("data", "train")`); `path` or `name` is appended.
        base_dir: Where relative paths start.
        limit: How many rows to read at most.

    Returns:
        The rows, or None with the diagnostics saying why there are none.
    """
    if source.path is not None:
        sample, diagnostics = _read_local(
            source.path, loc=(*loc, "path"), base_dir=base_dir, limit=limit
        )
    else:
        sample, diagnostics = _read_hub(source, loc=(*loc, "name"), limit=limit)
    if sample is not None and not sample.rows:
        key = ".".join(map(str, (*loc, "path" if source.path else "name")))
        return None, [
            Diagnostic(
                loc=(*loc, "path" if source.path else "name"),
                message=f"{sample.label} has no rows; point `{key}` at data with conversations",
                type="data_empty",
            )
        ]
    return sample, diagnostics
