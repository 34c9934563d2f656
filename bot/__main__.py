"""``python -m bot evaluate --engine embedded|rasa --train T.yml --test E.yml [--oos O.yml]``

Prints a readable table (stderr) and the results as one JSON line (stdout)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m bot")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser(
        "evaluate",
        aliases=["eval"],
        help="NLU accuracy, macro-F1, out-of-scope, latency",
        description="Train an engine on one Rasa NLU file (YAML or JSON, or a directory of them) and score "
        "it on another: accuracy and macro-F1 (top intent), out-of-scope precision/recall (test "
        "examples labelled out_of_scope or nlu_fallback), training time, parse p50/p95. "
        "A table on stderr, one JSON line on stdout; exit 2 on unusable input.",
    )
    ev.add_argument("--engine", choices=["embedded", "rasa"], action="append",
                    help="repeat to compare engines side by side (default: embedded)")
    ev.add_argument("--train", type=Path, required=True, help="Rasa NLU file (YAML/JSON) or directory")
    ev.add_argument("--test", type=Path, required=True, help="Rasa NLU file (YAML/JSON) or directory")
    ev.add_argument("--oos", type=Path, action="append", default=[],
                    help="extra test file(s) of out-of-scope messages: every example counts as out of scope, "
                         "whatever its intent is called")
    ev.add_argument("--cache-dir", type=Path, default=None, help="cache trained embedded models here")
    ev.add_argument("--quiet", action="store_true", help="no progress bars")
    ev.add_argument(
        "--tune-epochs",
        type=int,
        default=None,
        help="embedded: epochs of encoder fine-tuning (default BERRY_BOT_TUNE_EPOCHS; 0 = frozen)",
    )
    ev.add_argument("--rasa-config", type=Path, default=None,
                    help="rasa: pipeline config (default: the project's bot/rasa/config.yml)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from bot.evaluate import evaluate, table

    for path in [args.train, args.test, *args.oos, *([args.rasa_config] if args.rasa_config else [])]:
        if not path.exists():
            parser.error(f"{path} does not exist")
    results = []
    for engine in args.engine or ["embedded"]:
        try:
            results.append(evaluate(engine, args.train, args.test, extra_test=args.oos,
                                    cache_dir=args.cache_dir, progress=not args.quiet,
                                    tune_epochs=args.tune_epochs, rasa_config=args.rasa_config))
        except (ValueError, RuntimeError, TimeoutError) as exc:
            print(f"{engine}: {exc}", file=sys.stderr)
            return 2
    print(table(results), file=sys.stderr)
    print(json.dumps(results if len(results) > 1 else results[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
