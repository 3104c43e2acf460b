"""Mutation score of a mutmut run, per module, from the ``mutants/**/*.py.meta`` it leaves.

Usage: ``python scripts/mutation_score.py [--fail-under PERCENT] [--survivors] [MODULE.py …]``.
Each mutant's exit code is read as mutmut reads it (``mutmut.stats.status_by_exit_code``): it
is *killed* when the tests failed or timed out (or crashed), *survived* when they passed, when no
test covers the mutated function ("no tests") or when the run ended oddly ("suspicious": not
counted as caught), *not run* when the run stopped before it (time cap, interrupt, skipped).
Mutants named in ``docs/mutation-equivalent.txt`` (one mutant name a line, ``#`` comments) are
equivalent: they are left out of the score. The score is killed / (killed + survived), over the
mutants that ran and are not equivalent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "docs" / "mutation-equivalent.txt"


def _equivalent() -> set[str]:
    if not EQUIVALENT.is_file():
        return set()
    names = set()
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line)
    return names


# mutmut's own statuses (mutmut.stats.status_by_exit_code), so a mutant no test reaches (exit code
# 33, "no tests") is never counted as caught.
_KILLED = {"killed", "timeout", "segfault", "caught by type check"}
_SURVIVED = {"survived", "no tests", "suspicious"}


def _status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


def _module(meta: Path) -> str:
    relative = meta.relative_to(ROOT / "mutants").with_suffix("").with_suffix("")
    return ".".join(relative.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail-under", type=float, default=None)
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("files", nargs="*", help="only these source files")
    args = parser.parse_args(argv)
    wanted = {str(Path(f).with_suffix("")).replace("/", ".") for f in args.files}
    equivalent = _equivalent()
    total_killed = total_survived = total_missing = total_equivalent = 0
    survivors: list[str] = []
    print(f"{'module':40} {'killed':>7} {'survived':>8} {'equiv.':>6} {'not run':>7} {'score':>7}")
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        module = _module(meta)
        if wanted and module not in wanted:
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        killed = survived = missing = equiv = 0
        for name, code in sorted(codes.items()):
            status = _status(code)
            if name in equivalent:
                equiv += 1
            elif status in _KILLED:
                killed += 1
            elif status in _SURVIVED:
                survived += 1
                survivors.append(name if status == "survived" else f"{name} ({status})")
            else:
                missing += 1
        ran = killed + survived
        score = f"{100 * killed / ran:6.1f}%" if ran else "      -"
        print(f"{module:40} {killed:>7} {survived:>8} {equiv:>6} {missing:>7} {score}")
        total_killed += killed
        total_survived += survived
        total_missing += missing
        total_equivalent += equiv
    ran = total_killed + total_survived
    score = 100 * total_killed / ran if ran else 0.0
    print(
        f"{'total':40} {total_killed:>7} {total_survived:>8} {total_equivalent:>6} "
        f"{total_missing:>7} {score:6.1f}%"
    )
    if total_missing:
        print(f"mutation: {total_missing} mutants did not run (time cap): the score is partial")
    if args.survivors:
        for name in survivors:
            print(f"survived: {name}")
    if args.fail_under is not None and ran and score < args.fail_under:
        print(f"mutation: score {score:.1f}% is under {args.fail_under}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
