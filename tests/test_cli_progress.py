"""Batch progress on stderr (service.cli.progress): a bar on a TTY, throttled lines otherwise."""

from __future__ import annotations

import io

from service.cli.progress import progress_printer


def test_progress_bar_on_a_tty() -> None:
    out = io.StringIO()
    show = progress_printer(out, True)
    show(40, 100, 1)
    show(100, 100, 1)
    assert out.getvalue() == (
        "\r[########............] 40/100 ok 39 failed 1"
        "\r[####################] 100/100 ok 99 failed 1\n"
    )


def test_progress_lines_are_throttled() -> None:
    out = io.StringIO()
    now = [0.0]
    show = progress_printer(out, False, clock=lambda: now[0])
    for done in range(1, 101):
        now[0] += 0.01
        show(done, 100, 0)
    lines = out.getvalue().splitlines()
    assert (
        lines[0] == "batch: 1/100 done, 0 failed" and lines[-1] == "batch: 100/100 done, 0 failed"
    )
    assert [line.split()[1] for line in lines] == ["1/100"] + [f"{k}0/100" for k in range(1, 11)]
    now[0] += 5
    show(100, 100, 0)  # nothing new: nothing printed
    assert len(out.getvalue().splitlines()) == 11
    show2 = progress_printer(out, False, clock=lambda: now[0])
    show2(1, 1000, 0)
    now[0] += 2.5
    show2(2, 1000, 0)  # 2 s passed: printed although under 10% more
    assert out.getvalue().splitlines()[-2:] == [
        "batch: 1/1000 done, 0 failed",
        "batch: 2/1000 done, 0 failed",
    ]
