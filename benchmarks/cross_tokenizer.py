"""The quickstart distilled across tokenizers: exact match before and after, per teacher/student pair.

Builds the pairs of `tests/cross_tokenizer_assets.py` and runs `gkd run` (the real CLI) on
the quickstart's config for each, 1,000 steps, `teacher.cross_tokenizer: uld` except for
the shared-tokenizer baseline, and reads the run's evaluation (`gkd_eval.json`):

- shared: the quickstart as it ships (one tokenizer, gkd's own loss);
- permuted: the teacher's vocabulary permuted (same strings, other ids);
- word student: the student reads `reverse`/`copy` as one token each (104 ids against
  102), re-taught to copy with it;
- pair teacher: a teacher trained on reversal with a tokenizer that reads letters two at a
  time (`edcba` -> `ed cb a`), for the character student.

    python benchmarks/cross_tokenizer.py [--pairs shared permuted word pair]

Several minutes on 2 cores (the pair teacher's own training is about 2 of them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
QUICKSTART = ROOT / "examples" / "quickstart"


def _run(out: Path, *sets: str) -> tuple[float, float, float]:
    args = [str(Path(sys.executable).parent / "gkd"), "run", "examples/quickstart/config.yaml",
            "--set", f"training.output_dir={out}", "--set", "training.eval_steps=1000",
            "--set", "training.save_strategy=no"]
    for item in sets:
        args += ["--set", item]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
    saved = json.loads((out / "gkd_eval.json").read_text())
    models = saved["before"]["models"]
    return models[0]["exact_match"], models[1]["exact_match"], saved["after"]["models"][1]["exact_match"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", nargs="+", default=["shared", "permuted", "word", "pair"])
    args = parser.parse_args()
    from cross_tokenizer_assets import permute_vocabulary, train_pair_teacher, word_student

    with tempfile.TemporaryDirectory(prefix="gkd-cross-bench-") as tmp:
        root = Path(tmp)
        for name in args.pairs:
            if name == "shared":
                sets: tuple[str, ...] = ()
            elif name == "permuted":
                teacher = permute_vocabulary(QUICKSTART / "teacher", root / "permuted", seed=3)
                sets = (f"gkd.teacher_model_name_or_path={teacher}", "teacher.cross_tokenizer=uld")
            elif name == "word":
                student = word_student(root / "word-student", QUICKSTART / "student")
                sets = (f"model.name_or_path={student}", "teacher.cross_tokenizer=uld")
            else:
                teacher = train_pair_teacher(root / "pair-teacher", steps=2000, lr=1e-3)
                sets = (f"gkd.teacher_model_name_or_path={teacher}", "teacher.cross_tokenizer=uld")
            teacher_exact, before, after = _run(root / f"run-{name}", *sets)
            print(f"{name:<9} teacher {teacher_exact:.1%}; student exact match {before:.1%} -> {after:.1%}", flush=True)


if __name__ == "__main__":
    main()
