"""Recording the raw API responses of a live thread as readable JSON test fixtures.

Re-record the HTTP fixtures of the tests (``fixtures/http/``) against the live APIs with::

    python -m service.ingest.fetch --record URL_OR_ID OUT_DIR
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from ...errors import FetchError, LimitError, NotFoundError, UsageError
from ...retrying import RetryPolicy
from ...settings import Settings
from .getter import DEFAULT_RETRY, Fetcher, new_client
from .hn import ALGOLIA_ITEM_URL, attempt, crawl_firebase, firebase_item
from .reddit import reddit_url
from .targets import FetchTarget, parse_target

__all__ = ["main", "record"]


async def record(
    target: FetchTarget, out_dir: Path, settings: Settings, *, retry: RetryPolicy = DEFAULT_RETRY
) -> list[Path]:
    """Save the raw API responses for ``target`` as readable JSON files in ``out_dir``."""
    written: dict[Path, object] = {}
    async with new_client(settings) as client:
        fetcher = Fetcher(client, settings, retry)
        if target.source == "hn":
            algolia = await attempt(
                fetcher.get_json(ALGOLIA_ITEM_URL.format(id=target.id), what="Algolia item")
            )
            if not isinstance(algolia, FetchError):
                written[out_dir / f"hn-algolia-{target.id}.json"] = algolia
            story = await firebase_item(fetcher, target.id)
            if story is None:
                raise NotFoundError(f"HN item {target.id} not found")
            items, _ = await crawl_firebase(fetcher, story)
            by_id = {str(i["id"]): i for i in items if isinstance(i, dict)}
            written[out_dir / f"hn-firebase-{target.id}.json"] = by_id
        else:
            data = await fetcher.get_json(reddit_url(target), what=f"reddit post {target.id}")
            written[out_dir / f"reddit-{target.id}.json"] = data
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, data in written.items():
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return list(written)


def main(argv: list[str] | None = None) -> int:
    """``python -m service.ingest.fetch --record URL OUT_DIR``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m service.ingest.fetch",
        description="Record the raw API responses of a live thread as JSON test fixtures.",
    )
    parser.add_argument("--record", metavar="URL", required=True, help="HN/Reddit URL or HN id")
    parser.add_argument("out_dir", type=Path, help="directory for the JSON files")
    args = parser.parse_args(argv)
    try:
        target = parse_target(args.record)
        if target is None:
            raise UsageError(f"not a URL or an HN id: {args.record}")
        for path in asyncio.run(record(target, args.out_dir, Settings())):
            print(path)
    except (FetchError, LimitError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
