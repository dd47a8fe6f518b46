"""Batch progress on stderr (service.cli.progress): a bar on a TTY, throttled lines otherwise,
elapsed time, ETA, tokens and cache hits, and a closing line naming the failed records."""

from __future__ import annotations

import io

from service import events
from service.cli.progress import BatchProgress, duration, progress_printer
from service.models import Stats


def test_progress_bar_on_a_tty() -> None:
    out = io.StringIO()
    now = [100.0]
    show = progress_printer(out, True, clock=lambda: now[0])
    show(0, 100, 0)
    now[0] += 40
    show(40, 100, 1)
    now[0] += 65
    show(100, 100, 1)
    first = "[....................] 0/100 ok 0 failed 0 · 0s elapsed"
    second = "[########............] 40/100 ok 39 failed 1 · 40s elapsed · ETA 1m00s"
    third = "[####################] 100/100 ok 99 failed 1 · 1m45s elapsed"
    wipe = " " * (len(second) - len(third))  # what is left of the longer line is blanked
    assert out.getvalue() == f"\r{first}\r{second}\r{third}{wipe}\n"


def test_the_bar_counts_tokens_cache_hits_and_retries_it_hears() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = BatchProgress(out, True, clock=lambda: now[0], model="any-model")
    with events.listening(bar):
        bar(0, 4, 0)
        events.model_tokens("any-model", 1200, 300)
        events.retry("model", "the model server")
        events.summary_done("llm", Stats(cache_hits=2))
        now[0] += 10
        bar(1, 4, 0)
    events.model_tokens("any-model", 5, 5)  # after the block: not heard
    line = out.getvalue().split("\r")[-1]
    assert line.startswith("[#####...............] 1/4 ok 1 failed 0 · 10s elapsed · ETA 30s")
    assert "1,500 tokens" in line and "2 cache hits" in line and "1 retries" in line
    assert bar.prompt_tokens == 1200 and bar.completion_tokens == 300


def test_a_resumed_run_estimates_from_the_items_it_finished() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = BatchProgress(out, False, clock=lambda: now[0])
    bar(50, 100, 0)  # found done when the run resumed
    now[0] += 10
    bar(60, 100, 0)
    assert out.getvalue().splitlines()[-1] == ("batch: 60/100 done, 0 failed; 10s elapsed, ETA 40s")


def test_the_closing_line_names_the_failed_records() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = BatchProgress(out, False, clock=lambda: now[0], model="gpt-4o-mini")
    bar.model_tokens("gpt-4o-mini", 1_000_000, 100_000)
    now[0] += 125
    bar.finish("out.jsonl", 20, [3, 7])
    assert out.getvalue() == (
        "batch: 20 threads in 2m05s: 18 ok, 2 failed (input lines 3, 7: their records in "
        'out.jsonl have "status": "error"; rerun with --retry-failed to try them again); '
        "1,100,000 tokens (1,000,000 prompt + 100,000 completion), 0 cache hits, $0.2100\n"
    )
    out = io.StringIO()
    bar = BatchProgress(out, False, model="threadsum-mock", base_url="http://127.0.0.1:8089/v1")
    bar.finish("o.jsonl", 12, list(range(1, 13)))
    text = out.getvalue()
    assert "input lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more" in text
    assert (
        "cost unknown (no price known for model threadsum-mock at http://127.0.0.1:8089/v1)" in text
    )


def test_no_model_no_token_talk() -> None:
    out = io.StringIO()
    bar = progress_printer(out, False)
    bar(3, 3, 0)
    bar.finish("o.jsonl", 3, [])
    lines = out.getvalue().splitlines()
    assert lines[0] == "batch: 3/3 done, 0 failed; 0s elapsed"
    assert lines[1].startswith("batch: 3 threads in ") and lines[1].endswith(": 3 ok, 0 failed")


def test_durations() -> None:
    assert [duration(s) for s in (0, 59.4, 60, 3599, 3600, 7625)] == [
        "0s",
        "59s",
        "1m00s",
        "59m59s",
        "1h00m",
        "2h07m",
    ]


def test_progress_lines_are_throttled() -> None:
    out = io.StringIO()
    now = [0.0]
    show = progress_printer(out, False, clock=lambda: now[0])
    for done in range(1, 101):
        now[0] += 0.01
        show(done, 100, 0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("batch: 1/100 done, 0 failed; ")
    assert lines[-1].startswith("batch: 100/100 done, 0 failed; ")
    assert [line.split()[1] for line in lines] == ["1/100"] + [f"{k}0/100" for k in range(1, 11)]
    now[0] += 5
    show(100, 100, 0)  # nothing new: nothing printed
    assert len(out.getvalue().splitlines()) == 11
    show2 = progress_printer(out, False, clock=lambda: now[0])
    show2(1, 1000, 0)
    now[0] += 2.5
    show2(2, 1000, 0)  # 2 s passed: printed although under 10% more
    assert [line.split(";")[0] for line in out.getvalue().splitlines()[-2:]] == [
        "batch: 1/1000 done, 0 failed",
        "batch: 2/1000 done, 0 failed",
    ]
