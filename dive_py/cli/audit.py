"""Provides ``divepy audit REF…``: many images audited at once, ranked by waste, with the bases they share.

References are what the rest of divepy takes, plus ``registry://HOST`` (every repository of the
registry, ``--tags latest|all|N``) and ``--from FILE`` (one a line). The images go to worker processes
(``--workers``), or to a Dask cluster (``--dask ADDRESS``); each layer is read and scanned once across
them all through the layer cache keyed by digest (shared between machines with ``--cache-url``).
Progress on stderr; the ranked table on stdout (or ``--json``, ``--csv``, ``--markdown``, ``--html``); ``--ci``
exits 1 when an image fails its rules or cannot be read, naming each.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from dive_py.cli.options import EXIT_ERROR, EXIT_OK, EXIT_RULE_FAILED, Parser, add_cache_url_flag, configure_cache
from dive_py.errors import ConfigError
from dive_py.safe_text import visible


def build_audit_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="divepy audit",
        description="Audit many images: a table ranked by wasted bytes, and the base layers they share.",
    )
    parser.add_argument("refs", nargs="*", metavar="REF", help="images as divepy takes them, or registry://HOST")
    parser.add_argument("--from", dest="from_file", metavar="FILE", help="read references from FILE, one a line")
    parser.add_argument("--tags", default="latest", help="tags of registry://HOST repositories: latest, all or N")
    parser.add_argument("--json", metavar="FILE", help="write the audit as JSON (- for stdout)")
    parser.add_argument("--csv", metavar="FILE", help="write the table as CSV (- for stdout)")
    parser.add_argument("--markdown", metavar="FILE", help="write the table as Markdown (- for stdout)")
    parser.add_argument("--html", metavar="FILE", help="write the audit as one self-contained page (- for stdout)")
    parser.add_argument("--ci", action="store_true", help="exit 1 when an image fails its rules or cannot be read")
    parser.add_argument("--ci-config", metavar="FILE", help="CI rules file (default: .dive-ci if present)")
    run = parser.add_argument_group("how")
    run.add_argument("--workers", type=int, metavar="N", help="worker processes (default: the CPUs, at most 4)")
    run.add_argument("--dask", metavar="ADDRESS", help="run the images on this Dask scheduler (tcp://HOST:PORT)")
    run.add_argument("--platform", help="pick this platform (os/arch[/variant]) from multi-platform images")
    run.add_argument("--username", help="registry user name; the password is read from env DIVEPY_PASSWORD")
    run.add_argument("--insecure", action="store_true", help="registry over plain http / unverified TLS")
    run.add_argument("--no-cache", action="store_true", help="use neither the local nor the shared cache")
    add_cache_url_flag(run)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def main_audit(argv: Sequence[str]) -> int:
    """Runs ``divepy audit``; returns 0, 1 (``--ci`` and an image failed) or 2 (nothing could be audited)."""
    from dive_py.ci.audit import AuditSettings, failing
    from dive_py.ci.config import load_ci_config
    from dive_py.ci.fanout import run_audit
    from dive_py.ci.rules import build_rules

    args = build_audit_parser().parse_args(list(argv))
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers: expected a positive number")
    config = load_ci_config(args.ci_config, {})
    build_rules(config)  # a bad rules file fails before any image is read
    refs = _references(args)
    settings = AuditSettings(
        rules=dict(config.rules),
        platform=args.platform,
        username=args.username,
        insecure=args.insecure,
        use_cache=not args.no_cache,
        cache_url=_shared_cache(args),
    )
    progress = _Progress(len(refs))
    rows = run_audit(refs, settings, workers=args.workers, dask_address=args.dask, done=progress)
    progress.close()
    from dive_py.cache.remote import unique_warnings

    for line in unique_warnings([w for row in rows for w in row.get("warnings", [])]):
        print(line, file=sys.stderr)  # each once, whichever workers met it
    _write_reports(args, rows)
    unreadable = [row for row in rows if row["error"]]
    for row in unreadable:
        print(
            f"divepy: audit: {visible(row['ref'])}: cannot be read: {visible(row['error'])}",
            file=sys.stderr,
        )
    if len(unreadable) == len(rows):
        return EXIT_ERROR
    if args.ci:
        failed = failing(rows)
        for row in failed:
            print(f"divepy: audit: FAIL {visible(row['ref'])} ({', '.join(row['failed_rules'])})", file=sys.stderr)
        if failed or unreadable:
            return EXIT_RULE_FAILED
    return EXIT_OK


def _references(args: argparse.Namespace) -> list[str]:
    """The images to audit: the arguments, the lines of ``--from``, registries expanded; duplicates once."""
    from dive_py.sources.registry.catalog import list_registry, parse_tags_mode

    given = list(args.refs)
    if args.from_file:
        given += _read_list(args.from_file)
    mode = parse_tags_mode(args.tags)
    refs: list[str] = []
    for ref in given:
        if ref == "-":
            raise ConfigError("divepy audit cannot read an image from stdin (-): save it to a file and name that")
        host = ref.removeprefix("registry://").rstrip("/") if ref.startswith("registry://") else None
        if host and "/" not in host:
            refs += list_registry(host, mode, username=args.username, insecure=args.insecure)
        else:
            refs.append(ref)
    refs = list(dict.fromkeys(refs))
    if not refs:
        raise ConfigError("divepy audit: no images to audit (give references, --from FILE or registry://HOST)")
    return refs


def _read_list(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--from {path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _shared_cache(args: argparse.Namespace) -> str | None:
    """The shared cache's URL once it answered; an unreachable one is warned about once and left out."""
    from dive_py.cache.remote import URL_ENV, configure_remote, remote_store

    configure_cache(args)
    store = remote_store()
    if store is None:
        return None
    if not store.check():
        configure_remote(None)  # the workers go on with their local caches
        return None
    return os.environ.get(URL_ENV)


def _write_reports(args: argparse.Namespace, rows: list[dict]) -> None:
    from dive_py.files import write_text_atomic
    from dive_py.reports.audit import audit_csv, audit_json, audit_markdown, audit_text
    from dive_py.reports.html_audit import html_audit

    reports = [(args.json, audit_json), (args.csv, audit_csv), (args.markdown, audit_markdown),
               (args.html, lambda rows: html_audit(rows, ci=args.ci))]  # fmt: skip
    for value, render in reports:
        if value:
            write_text_atomic(value, render(rows))
    if not any(value == "-" for value, _ in reports):
        sys.stdout.write(audit_text(rows))


class _Progress:
    """``audit: 7/20 images (1 unreadable)`` on stderr: redrawn on a terminal, a line an image otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.unreadable = 0
        self.tty = sys.stderr.isatty()

    def __call__(self, row: dict) -> None:
        self.done += 1
        self.unreadable += bool(row["error"])
        state = "unreadable" if row["error"] else ("ok" if row.get("passed") else "fails its rules")
        if self.tty:
            extra = f" ({self.unreadable} unreadable)" if self.unreadable else ""
            sys.stderr.write(f"\r\x1b[2Kdivepy: audit: {self.done}/{self.total} images{extra}")
        else:
            sys.stderr.write(f"divepy: audit: [{self.done}/{self.total}] {visible(row['ref'])}: {state}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
