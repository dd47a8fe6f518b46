"""How right the extractive map's roles are on hand-written development threads.

    python3 bench/map_dev.py

Each thread below was written for this measurement (not taken from fixtures/, not the eval gold
set) with a role per comment: ``claim``, ``supporter``, ``rebuttal``, ``counter`` or ``none``
(framing, side remarks, questions, thanks, replies that take no side). The map is built with the
shipped stance model, and every role it shows is checked against the written one: a shown claim
is right when its statement comes from a comment marked ``claim``; a supporter, rebuttal or
counter when the comment cited first is marked so (``backer``: agrees with a rebuttal, shown
as more evidence for it, so never counted as a role of its own). Precision is right ÷ shown;
recall is found ÷ marked. The no-dispute thread must show no rebuttal.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.engines.extractive import summarize_extractive
from service.ingest import read_thread
from service.models import ThreadSummary

# (id, parent, author, role, text)
Row = tuple[str, str | None, str, str, str]

THREADS: dict[str, list[Row]] = {
    "four-day-week": [
        (
            "1",
            None,
            "ana",
            "claim",
            "A four-day week would not lower output for most office jobs. People waste the fifth "
            "day anyway, and the trials in Iceland found no drop in productivity.",
        ),
        (
            "2",
            "1",
            "ben",
            "rebuttal",
            "I completely disagree. The Iceland trials cut hours by one or two a week, not a whole "
            "day, so they tell us nothing about a four-day week.",
        ),
        (
            "3",
            "2",
            "ana",
            "counter",
            "That's not true, several of the workplaces in the trial did move to four days, and "
            "their output held.",
        ),
        ("4", "2", "cat", "none", "Do you have a link to the report?"),
        ("5", "4", "ben", "none", "It was published by Autonomy, search for it."),
        (
            "6",
            "1",
            "dev",
            "supporter",
            "Exactly. Our team tried it for six months and shipped just as much.",
        ),
        (
            "7",
            "1",
            "eve",
            "rebuttal",
            "No, that only works for desk jobs. Nurses and shop staff cannot squeeze five days of "
            "shifts into four.",
        ),
        ("8", "7", "fay", "backer", "Agreed, my sister is a nurse and her ward would fall apart."),
        ("9", "1", "gus", "none", "I read about this on the train this morning."),
        (
            "10",
            None,
            "hal",
            "claim",
            "Companies will use a shorter week as an excuse to cut pay. That is what happened "
            "with zero-hours contracts.",
        ),
        (
            "11",
            "10",
            "ivy",
            "rebuttal",
            "I don't think so. Every serious trial so far kept pay at 100%, it is the whole point.",
        ),
        (
            "12",
            "11",
            "hal",
            "counter",
            "Well, no. The trials were voluntary and picked by the firms, that proves nothing "
            "about what bosses will do once it is the norm.",
        ),
        ("13", "10", "jon", "supporter", "This. Watch them call it flexibility."),
    ],
    "static-typing": [
        ("1", None, "kim", "none", "Genuine question for people who use both daily?"),
        (
            "2",
            "1",
            "lee",
            "claim",
            "Static types pay for themselves in any codebase that more than two people touch. "
            "Refactoring without them is guesswork.",
        ),
        (
            "3",
            "2",
            "max",
            "rebuttal",
            "Not really. Good tests give you the same safety, and you keep the speed of a dynamic "
            "language.",
        ),
        (
            "4",
            "3",
            "lee",
            "counter",
            "Tests only cover the paths someone thought of, types cover every call site.",
        ),
        ("5", "3", "ned", "none", "Which test framework do you use?"),
        (
            "6",
            "2",
            "ola",
            "supporter",
            "Totally agree, moving our Python to mypy strict caught dozens of real bugs.",
        ),
        ("7", "6", "pia", "none", "How long did the migration take you?"),
        ("8", "7", "ola", "none", "About three months for 200k lines."),
        (
            "9",
            "1",
            "ray",
            "claim",
            "For small scripts dynamic typing is still the better choice, the ceremony is not "
            "worth it.",
        ),
        ("10", "9", "sam", "supporter", "Same here, nobody needs generics in a cron job."),
        (
            "11",
            "9",
            "tia",
            "rebuttal",
            "I disagree, most small scripts grow into big ones and then nobody dares to touch "
            "them.",
        ),
    ],
    "condolences": [
        (
            "1",
            None,
            "uma",
            "none",
            "I'm so sorry for your loss. Your grandmother sounds like she was a remarkable woman.",
        ),
        ("2", "1", "op", "none", "Thank you, she really was. She taught me to read."),
        (
            "3",
            None,
            "vic",
            "none",
            "Sending you and your family a big hug. Losing someone you love is the hardest thing.",
        ),
        ("4", "3", "op", "none", "Thanks so much, it means a lot right now."),
        (
            "5",
            "3",
            "wes",
            "none",
            "Can relate. I lost my grandfather last spring and I still think of him every day.",
        ),
        ("6", "5", "op", "none", "I'm sorry about your grandfather, thank you for sharing."),
        ("7", None, "xia", "none", "Rest in peace. Take care of yourself in the coming weeks."),
        ("8", "7", "op", "none", "I will, thank you."),
        (
            "9",
            None,
            "yan",
            "none",
            "My grandma also loved gardening. We planted her roses at our house after she passed.",
        ),
        ("10", "9", "op", "none", "That is a lovely idea, I think we will do the same."),
    ],
}

# Written after the rules above were settled and measured once, untouched since: the figures on
# these are the ones to quote.
FRESH: dict[str, list[Row]] = {
    "nuclear-power": [
        (
            "1",
            None,
            "al",
            "claim",
            "Nuclear power is the only realistic way to decarbonise the grid by 2050. Wind and "
            "solar cannot cover the winter peak without storage we do not have.",
        ),
        (
            "2",
            "1",
            "bo",
            "rebuttal",
            "That's simply not true. Batteries and pumped hydro are growing faster than any "
            "reactor programme, and new plants take fifteen years to build.",
        ),
        (
            "3",
            "2",
            "al",
            "counter",
            "No, batteries cover hours, not the weeks of low wind we get every January.",
        ),
        ("4", "3", "cy", "backer", "Exactly, Germany learned that the hard way."),
        ("5", "1", "di", "supporter", "I agree. France did it in fifteen years in the seventies."),
        ("6", "5", "ed", "none", "What share of their power is nuclear now?"),
        ("7", "1", "fi", "none", "Interesting thread, bookmarking this."),
        (
            "8",
            None,
            "gi",
            "claim",
            "The waste problem is overblown, all of it would fit on a football pitch.",
        ),
        (
            "9",
            "8",
            "hu",
            "rebuttal",
            "I totally disagree with this. The volume is small but it stays dangerous for "
            "thousands of years, and no country has a working permanent store.",
        ),
        ("10", "9", "io", "counter", "Finland does, Onkalo is opening this decade."),
    ],
    "bike-lanes": [
        (
            "1",
            None,
            "ja",
            "claim",
            "Protected bike lanes are good for local shops. People on bikes stop more often and "
            "spend more per month than drivers.",
        ),
        (
            "2",
            "1",
            "ka",
            "supporter",
            "Can relate, our high street got busier after the lanes went in.",
        ),
        (
            "3",
            "1",
            "lu",
            "rebuttal",
            "No, the shops on my street lost half their parking and two of them closed.",
        ),
        (
            "4",
            "3",
            "ja",
            "counter",
            "I don't think the lanes closed them, both shops were struggling long before.",
        ),
        ("5", "3", "mo", "none", "Which city is this?"),
        ("6", "1", "ni", "none", "I rode to work today for the first time in years."),
        ("7", None, "ob", "none", "Has anyone here tried the new cargo bike share?"),
        ("8", "7", "pe", "none", "Yes, twice, it was fine but the app is slow."),
    ],
    "retirement": [
        (
            "1",
            None,
            "qi",
            "none",
            "Congratulations on your retirement! Thirty years at one school is amazing.",
        ),
        ("2", "1", "op", "none", "Thank you! It went by so fast."),
        (
            "3",
            None,
            "ru",
            "none",
            "Enjoy every minute of it. My mum retired last year and she has never been busier.",
        ),
        ("4", "3", "op", "none", "Ha, that is what everyone tells me. Thanks!"),
        ("5", None, "si", "none", "Well deserved. Your students were lucky to have you."),
        ("6", "5", "to", "none", "Agreed, she was the best teacher I ever had."),
    ],
}

ROLES = ("claim", "supporter", "rebuttal", "counter")


def shown_roles(summary: ThreadSummary) -> list[tuple[str, str]]:
    """(role, comment id) for every role the map shows."""
    shown: list[tuple[str, str]] = []
    for claim in summary.claims:
        shown.append(("claim", claim.evidence[0].comment_id))
        shown.extend(("supporter", s.comment_id) for s in claim.supporters)
        for r in claim.rebuttals:
            shown.append(("rebuttal", r.evidence[0].comment_id))
            shown.extend(("counter", co.evidence[0].comment_id) for co in r.counters)
    return shown


def measure(label: str, threads: dict[str, list[Row]]) -> None:
    """Print the roles shown, what is wrong, and precision/recall per role."""
    right: Counter[str] = Counter()
    shown_n: Counter[str] = Counter()
    marked: Counter[str] = Counter()
    for name, rows in threads.items():
        doc = {
            "id": name,
            "title": name,
            "comments": [
                {"id": i, "parent_id": p, "author": a, "text": t} for i, p, a, _, t in rows
            ],
        }
        thread = read_thread(json.dumps(doc))
        gold = {i: role for i, _, _, role, _ in rows}
        marked.update(role for role in gold.values() if role in ROLES)
        shown = shown_roles(summarize_extractive(thread))
        wrong = [(role, cid, gold[cid]) for role, cid in shown if gold[cid] != role]
        for role, cid in shown:
            shown_n[role] += 1
            right[role] += gold[cid] == role
        rebuttals = sum(1 for role, _ in shown if role == "rebuttal")
        print(
            f"  {name}: {len(shown)} roles shown, {len(wrong)} wrong {wrong}, "
            f"{rebuttals} rebuttal(s)"
        )
    print(f"  {'role':<10} {'shown':>5} {'right':>5} {'precision':>9} {'recall':>6}")
    for role in ROLES:
        p = right[role] / shown_n[role] if shown_n[role] else 1.0
        r = right[role] / marked[role] if marked[role] else 1.0
        print(f"  {role:<10} {shown_n[role]:>5} {right[role]:>5} {p:>9.2f} {r:>6.2f}")
    total_shown, total_right = sum(shown_n.values()), sum(right.values())
    print(
        f"  {label}: {total_right}/{total_shown} roles shown are right "
        f"({total_right / max(1, total_shown):.0%}); {total_right}/{sum(marked.values())} "
        "marked roles found"
    )


def main() -> int:
    print("development threads (the rules were adjusted on these):")
    measure("development", THREADS)
    print("fresh threads (written afterwards, measured once):")
    measure("fresh", FRESH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
