"""Oumi's `data` section -> gkd's `data.train` / `data.eval`.

Oumi names a dataset by a registered class (`dataset_name`, often a Hub id such as
`yahma/alpaca-cleaned`, whose class turns rows into conversations) or reads a local
file (`dataset_path`). gkd reads one file or Hub dataset per split, rows as they are.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.yaml_loader import PositionMap
from gkd_schema.convert.plan import ConversionPlan
from gkd_schema.convert.reading import error_at
from gkd_schema.models.data_section import DATA_FILE_SUFFIXES

_SPLITS = {"train": "train", "validation": "eval"}
_HUB_NOTE = (
    "Oumi reads this through its dataset class for the name, which may reshape the rows; gkd reads "
    "the Hub rows as they are (`messages`, or `prompt`/`completion`): check with `gkd validate --deep`"
)
_DATASET_NO_EQUIVALENT = {
    "dataset_kwargs": "options of Oumi's dataset class; gkd reads rows as stored",
    "shuffle": "gkd reads the first rows in order (`max_samples`); the trainer shuffles batches",
    "seed": "gkd's `training.seed` seeds the data order",
    "mixture_proportion": "gkd reads one dataset per split; there is no mixture",
    "shuffle_buffer_size": "gkd does not stream datasets",
    "trust_remote_code": "gkd reads data files and Hub datasets without dataset scripts",
    "transform_num_workers": "gkd does not transform rows with Oumi's dataset classes",
}
_SPLIT_NO_EQUIVALENT = {
    "collator_name": "gkd always uses TRL's chat collator for GKD",
    "collator_kwargs": "gkd always uses TRL's chat collator for GKD",
    "pack": "GKD trains on unpacked conversations",
    "stream": "gkd does not stream datasets",
    "mixture_strategy": "gkd reads one dataset per split; there is no mixture",
}


def take_data(plan: ConversionPlan, data: Any, positions: PositionMap) -> None:
    """`data.train` (required) and `data.validation` into the plan.

    Raises:
        ConvertError: there is no training dataset.
    """
    data = dict(data) if isinstance(data, dict) else {}
    train = data.get("train")
    if not isinstance(train, dict) or not train.get("datasets"):
        raise error_at(positions, ("data",), "`data.train.datasets` is empty; gkd needs the training data: add it "
                       "and convert again")  # fmt: skip
    for split, value in data.items():
        if split in _SPLITS and isinstance(value, dict):
            _take_split(plan, split, dict(value))
        else:
            why = "gkd has train and eval splits only" if split == "test" else "not a split of Oumi's DataParams"
            plan.skip(f"data.{split}", value, why)


def _take_split(plan: ConversionPlan, split: str, params: dict[str, Any]) -> None:
    prefix = f"data.{split}"
    datasets = params.pop("datasets", None) or []
    if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
        plan.skip(f"{prefix}.datasets", datasets, "expected a list of datasets (mappings with `dataset_name`)")
        return
    if datasets:
        _take_dataset(plan, _SPLITS[split], dict(datasets[0]), f"{prefix}.datasets[0]")
    for index, extra in enumerate(datasets[1:], start=1):
        plan.skip(f"{prefix}.datasets[{index}]", extra, "gkd reads one dataset per split (the first is converted); "
                  "combine them into one data file to keep them all")  # fmt: skip
    for key, value in params.items():
        plan.skip(f"{prefix}.{key}", value, _SPLIT_NO_EQUIVALENT.get(key, "not a DatasetSplitParams key gkd knows"))


def _take_dataset(plan: ConversionPlan, split: str, dataset: dict[str, Any], prefix: str) -> None:
    name = dataset.pop("dataset_name", None)
    path = dataset.pop("dataset_path", None)
    if isinstance(path, str) and path:
        plan.put(("data", split, "path"), path, f"{prefix}.dataset_path")
        if not path.endswith(DATA_FILE_SUFFIXES):
            plan.skip(f"{prefix}.dataset_path", path, f"gkd reads one {', '.join(DATA_FILE_SUFFIXES)} file; point "
                      "`path` at one")  # fmt: skip
        if name is not None:
            plan.skip(f"{prefix}.dataset_name", name, "the Oumi dataset class that reads `dataset_path`; gkd reads "
                      "the file's rows itself (`messages`, or `prompt`/`completion`)")  # fmt: skip
    elif name is not None:
        plan.put(("data", split, "name"), name, f"{prefix}.dataset_name", _HUB_NOTE)
    for key, gkd_key in (("subset", "config"), ("split", "split")):
        if key not in dataset:
            continue
        value = dataset.pop(key)
        if path:
            plan.skip(f"{prefix}.{key}", value, "applies to Hub datasets; a local file is one split")
        else:
            plan.put(("data", split, gkd_key), value, f"{prefix}.{key}")
    if "sample_count" in dataset:
        plan.put(("data", split, "max_samples"), dataset.pop("sample_count"), f"{prefix}.sample_count",
                 "gkd keeps the first rows; Oumi samples (the first rows too unless `shuffle`)")  # fmt: skip
    for key, value in dataset.items():
        plan.skip(f"{prefix}.{key}", value, _DATASET_NO_EQUIVALENT.get(key, "not a DatasetParams key gkd knows"))
