"""`python -m bench run` and `python -m bench compare`; `make bench` runs the first."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.report import comparison, table
from bench.results import Results
from bench.run import BenchmarkFailed, BenchOptions, run
from smartcity.console import fail, say


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench", description="Measure the pipeline on this machine and compare runs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run", help="run the benchmark: producer, landing, files, dbt; print and save figures"
    )
    run_parser.add_argument(
        "--events", type=int, default=BenchOptions.events, help="events to produce and land"
    )
    run_parser.add_argument(
        "--vehicles", type=int, default=BenchOptions.vehicles, help="simulated vehicles"
    )
    run_parser.add_argument("--seed", type=int, default=BenchOptions.seed, help="simulation seed")
    run_parser.add_argument(
        "--rate",
        type=float,
        default=BenchOptions.rate,
        help="events per second in the continuous (freshness) part",
    )
    run_parser.add_argument(
        "--duration",
        type=float,
        default=BenchOptions.duration_s,
        help="seconds of input in the continuous part",
    )
    run_parser.add_argument(
        "--trigger",
        type=int,
        default=BenchOptions.trigger_s,
        help="landing trigger interval in the continuous part, seconds",
    )
    run_parser.add_argument(
        "--dbt-every",
        type=float,
        default=BenchOptions.dbt_every_s,
        metavar="SECONDS",
        help="run dbt in the continuous part on this cadence (`smartcity dbt --every`) "
        "instead of on each landing (`smartcity dbt --on-landing`, the default)",
    )
    run_parser.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=BenchOptions.peer,
        help="also land the backlog with the tutorial-shaped job and print the ratio",
    )
    run_parser.add_argument(
        "--rounds",
        type=int,
        default=BenchOptions.rounds,
        help="times each job lands the backlog, alternating which goes first; the landing "
        "figures are the medians (a single cold run moves by 10-15 %%)",
    )
    run_parser.add_argument(
        "--freshness",
        action=argparse.BooleanOptionalAction,
        default=BenchOptions.freshness,
        help="also measure freshness in continuous mode (about two minutes)",
    )
    run_parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default: data/bench/<stamp>/results.json)",
    )
    compare = commands.add_parser("compare", help="two results files side by side, as ratios")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.command == "compare":
        print(comparison(Results.read(args.before), Results.read(args.after)))
        return 0
    options = BenchOptions(
        events=args.events,
        vehicles=args.vehicles,
        seed=args.seed,
        rate=args.rate,
        duration_s=args.duration,
        trigger_s=args.trigger,
        dbt_every_s=args.dbt_every,
        peer=args.peer,
        rounds=args.rounds,
        freshness=args.freshness,
    )
    try:
        results = run(options, say)
    except (BenchmarkFailed, RuntimeError) as error:
        fail(f"benchmark failed: {error}")
        return 1
    out = args.out or Path(results.conditions["state"]) / "results.json"
    results.write(out)
    print(table(results))
    say(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
