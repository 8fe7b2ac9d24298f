"""What `make demo` prints at its end (the tables) and, with `--record`, writes as a dated record
for the docs' Results (bench/record.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import record as rec
from bench.real import answers_table as real_answers
from shared import classes


def real_parts(results: dict) -> None:
    """The real-part line: 5-class accuracy on one-setup parts, the multi-setup figures."""
    print("\n== real parts (bench/realparts: designed outside this project)")
    for name, r in results.items():
        ece = "" if r["ece"] is None else f", ECE {r['ece']:.3f}"
        print(
            f"{name:>22}: accuracy {r['one_setup_accuracy']:.1%} on {r['one_setup_cases']} "
            f"one-setup cases{ece}; multi-setup: a needed setup {r['multi_needed']:.1%}, "
            f"the primary {r['multi_primary']:.1%} of {r['multi_parts']} parts"
        )


def setup_plans(scores: dict) -> None:
    """The setup-plan lines: exact plan and primary setup on unseen multi-side blocks and on the
    real parts (a model without a plan head answers its label alone)."""
    print("\n== setup plans (exact: the set of sides to mill from; primary: the first setup)")
    for family, s in scores["unseen_multi"].items():
        m, r = s["metrics"], scores["real"].get(f"{family} champion", {})
        real = (
            f"; real multi-setup parts: exact {r['multi_plan_exact']:.1%}, primary "
            f"{r['multi_plan_primary']:.1%}; real one-setup cases: exact "
            f"{r['one_setup_plan_exact']:.1%}"
            if r
            else ""
        )
        print(
            f"{family:>12} model: unseen multi-side blocks: exact {m['eval_plan_exact']:.1%}, "
            f"primary {m['eval_plan_primary']:.1%}{real}"
        )
    for name in ("built-in model", "setup analysis", "tool-aware analysis"):
        r = scores["real"][name]
        print(
            f"{name:>18}: real multi-setup parts: exact {r['multi_plan_exact']:.1%}, primary "
            f"{r['multi_plan_primary']:.1%}; real one-setup cases: exact "
            f"{r['one_setup_plan_exact']:.1%}"
        )


def report(
    scores: dict, answers: dict, labels: dict, times: list, store: str, held_out: str
) -> None:
    for test, title in (
        ("unseen", "unseen parts (never trained on, another seed)"),
        ("held_out", f"held-out family: {held_out} (no part of it trained on)"),
    ):
        print(f"\n== {title}")
        for family, s in scores[test].items():
            m = s["metrics"]
            print(
                f"{family:>12} model: accuracy {m['eval_accuracy']:.1%}, macro-F1 "
                f"{m['eval_macro_f1']:.3f} on {s['images']} meta-images ({s['model_uri']} "
                f"v{s['model_version']})"
            )
    real_parts(scores["real"])
    setup_plans(scores)
    print()
    for family, s in scores["unseen"].items():
        print(f"confusion on unseen parts, {family} model (rows true, columns predicted):")
        print("      " + "".join(f"{c:>5}" for c in classes.CLASSES))
        for c, row in zip(classes.CLASSES, s["confusion"], strict=True):
            print(f"{c:>6}" + "".join(f"{v:>5}" for v in row))

    print("\n== new parts (third seed)")
    print(f"{'part':<16}{'true':>6}  {'image model':<20}{'face-normal model':<20}")
    for part, truth in labels.items():
        cells = []
        for family in ("image", "face-normal"):
            a = answers[family].get(part)
            cells.append(
                f"{a['label']:>3} {a['probabilities'][a['label']]:6.1%} "
                f"{'ok' if a['label'] == truth else 'x':<3}"
                if a
                else "failed"
            )
        print(f"{part:<16}{truth:>6}  {cells[0]:<20}{cells[1]:<20}")

    print("\n== stage times")
    for stage, seconds in times:
        print(f"{stage:<44}{seconds:8.1f} s")
    print(f"{'total':<44}{sum(s for _, s in times):8.1f} s")
    print("\nsee every run in the MLflow UI:")
    subprocess.run([sys.executable, "-m", "trainer", "ui", "--tracking-uri", store], check=False)


def record(
    scores: dict, answers: dict, labels: dict, times: list, held_out: str, out: Path = rec.DATA
) -> Path:
    """The demo's figures as a dated record (bench/record.py) for the docs' Results."""
    real = scores["real"]
    models = (
        ("image model", "image", "image champion"),
        ("face-normal model", "face-normal", "face-normal champion"),
        ("built-in model", None, "built-in model"),
        ("setup analysis", None, "setup analysis"),
        ("tool-aware analysis", None, "tool-aware analysis"),
    )

    def metric(test: str, family: str | None, key: str):
        return scores[test][family]["metrics"][key] if family else None

    glance = [
        [
            name,
            real[r]["one_setup_accuracy"],
            real[r]["multi_plan_exact"],
            metric("unseen", family, "eval_accuracy"),
            metric("held_out", family, "eval_accuracy"),
        ]
        for name, family, r in models
    ]
    plans = [
        [
            name,
            metric("unseen_multi", family, "eval_plan_exact"),
            metric("unseen_multi", family, "eval_plan_primary"),
            real[r]["multi_plan_exact"],
            real[r]["multi_plan_primary"],
            real[r]["one_setup_plan_exact"],
        ]
        for name, family, r in models
    ]
    new = []
    for part, truth in labels.items():
        row = [part, truth]
        for family in ("image", "face-normal"):
            a = answers[family].get(part)
            row += [a["label"], a["probabilities"][a["label"]]] if a else ["failed", None]
        new.append(row)
    c = rec.column
    return rec.write(
        "demo",
        "make demo: the pipeline end to end",
        [
            rec.table(
                f"Accuracy on real parts, unseen parts and a held-out family ({held_out})",
                [
                    c("model"),
                    c("real one-setup", "percent"),
                    c("real multi-setup: exact plan", "percent"),
                    c("unseen parts", "percent"),
                    c(f"held-out {held_out}", "percent"),
                ],
                glance,
            ),
            rec.table(
                "Setup plans (exact: the set of sides; primary: the first setup)",
                [
                    c("model"),
                    c("unseen 2-4 sides: exact", "percent"),
                    c("unseen 2-4 sides: primary", "percent"),
                    c("real multi-setup: exact", "percent"),
                    c("real multi-setup: primary", "percent"),
                    c("real one-setup: exact", "percent"),
                ],
                plans,
            ),
            real_answers(real, "Real parts (bench/real.py): calibration and confident mistakes"),
            rec.table(
                "New parts (a third seed)",
                [
                    c("part"),
                    c("true"),
                    c("image model"),
                    c("confidence", "percent"),
                    c("face-normal model"),
                    c("confidence", "percent"),
                ],
                new,
            ),
            rec.table(
                "Stage times",
                [c("stage"), c("time", "seconds")],
                [[stage, seconds] for stage, seconds in times],
            ),
        ],
        out=out,
    )
