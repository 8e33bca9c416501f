"""Command line: ``python -m interp_widgets report --out report.html``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interp_widgets")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="run every granularity level on a text and write one "
                                 "self-contained offline HTML page with all views and figures")
    report.add_argument("--out", default="report.html", help="output file (default: report.html)")
    report.add_argument("--model", default="tiny-llama", help="a causal LM: shipped name, folder or hub name "
                        "(default: tiny-llama)")
    report.add_argument("--text", default=None, help="the text analysed (default: a line of Shakespeare)")
    report.add_argument("--figures", metavar="DIR", help="also write every figure to DIR as PDF and PNG")
    report.add_argument("--transcoder", help="transcoder folder or shipped name for the attribution graph")
    commands.add_parser("catalog", help="list every method, its levels and status")
    args = parser.parse_args(argv)
    if args.command == "report":
        from .report import DEFAULT_TEXT, write_report

        path = write_report(args.out, args.model, args.text or DEFAULT_TEXT, args.figures, args.transcoder)
        print(f"wrote {path}")
    else:
        from .catalog import catalog

        print(catalog())
    return 0


if __name__ == "__main__":
    sys.exit(main())
