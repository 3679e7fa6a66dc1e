"""`python -m bench [--only NAME]`: run the benchmarks.

Writes bench/results.json and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse

from bench.report import write_results
from bench.runner import MEASURES, run_measures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=sorted(MEASURES), action="append", help="one measure")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    results = run_measures(args.only or sorted(MEASURES), quick=args.quick)
    write_results(results)


if __name__ == "__main__":
    main()
