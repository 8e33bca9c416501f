"""Command line: ``python -m interp_widgets report --out report.html``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interp_widgets")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="run the shipped models and write a self-contained HTML report")
    report.add_argument("--out", default="report.html", help="output file (default: report.html)")
    report.add_argument("--models", nargs="*", help="model names or folders (default: the shipped models)")
    commands.add_parser("catalog", help="list every method, its levels and status")
    args = parser.parse_args(argv)
    if args.command == "report":
        from .report import write_report

        path = write_report(args.out, args.models)
        print(f"wrote {path}")
    else:
        from .catalog import catalog

        print(catalog())
    return 0


if __name__ == "__main__":
    sys.exit(main())
