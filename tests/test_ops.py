"""Operations: /metrics, logs (level, format, no keys), --version, the base URL and its
fallback, -o picking the format, help texts, cost and --estimate, the batch closing line."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from prometheus_client.parser import text_string_to_metric_families

from service import events
from service.cli import main
from service.cli.parser import build_parser
from service.cost import price
from service.devtools.mockllm import MockConfig, running
from service.estimate import estimate_llm
from service.http import create_app
from service.ingest import read_thread
from service.logs import JsonFormatter, SecretFilter, configure
from service.models import Stats, ThreadSummary
from service.prompts import default_prompts_dir
from service.runtime import Runtime
from service.settings import Settings

from .conftest import EXAMPLE_PAGE, FIXTURES, ROOT

BASE = "http://model.test/v1"
MODEL = "gpt-4o-mini"
SECRET = "sk-test-0123456789-secret"
PAGE = EXAMPLE_PAGE.read_bytes()
EMPTY_MAP = '{"k": []}'


def _answer(content: str = EMPTY_MAP, prompt: int = 2000, completion: int = 9) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(
        json.loads((FIXTURES / "llm" / "chat-completion.json").read_text())
    )
    body["choices"][0]["message"]["content"] = content
    body["choices"][0]["finish_reason"] = "stop"
    body["model"] = MODEL
    body["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion}
    return body


def _echoing_503() -> httpx.Response:
    # A server that echoes the caller's key in its error body.
    body = {"error": {"message": f"overloaded; your key {SECRET} is fine", "type": "server"}}
    return httpx.Response(503, json=body, headers={"Retry-After": "0"})


@pytest.fixture
def model_server() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/models").respond(404)
        yield router


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels (it must parse)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _scrape_around(settings: Settings, requests: list[tuple[str, str, bytes]]) -> tuple[Any, Any]:
    async def go() -> tuple[Any, Any]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                before = await c.get("/metrics")
                assert before.status_code == 200
                assert before.headers["content-type"].startswith("text/plain")
                for method, path, body in requests:
                    await c.request(
                        method, path, content=body, headers={"Content-Type": "text/plain"}
                    )
                after = await c.get("/metrics")
        return _samples(before.text), _samples(after.text)

    return asyncio.run(go())


def test_metrics_parse_and_count_a_summary_against_a_mocked_model(
    model_server: respx.MockRouter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chat = model_server.post("/chat/completions")
    chat.side_effect = [_echoing_503(), httpx.Response(200, json=_answer())]
    settings = Settings(
        engine="llm",
        base_url=BASE,
        model=MODEL,
        api_key=SECRET,
        cache="use",
        cache_dir=tmp_path / "cache",
        state_dir=tmp_path / "state",
    )
    summaries = ("POST", "/v1/summaries", PAGE)
    caplog.set_level(logging.DEBUG)
    before, after = _scrape_around(
        settings,
        [summaries, summaries, ("GET", "/v1/batches/nope", b""), ("GET", "/no/such/page", b"")],
    )
    assert chat.call_count == 2  # one 503, then the answer; the second summary is a cache hit

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("threadsum_model_requests_total", model=MODEL, status="503") == 1
    assert delta("threadsum_model_requests_total", model=MODEL, status="200") == 1
    assert delta("threadsum_model_request_duration_seconds_count", model=MODEL) == 2
    assert delta("threadsum_retries_total", client="model") == 1
    assert delta("threadsum_model_tokens_total", model=MODEL, kind="prompt") == 2000
    assert delta("threadsum_model_tokens_total", model=MODEL, kind="completion") == 9
    assert delta("threadsum_summaries_total", engine="llm") == 2
    # The second summary is served whole from the summary cache: no answer is looked up.
    assert delta("threadsum_summary_cache_hits_total", engine="llm") == 1
    assert delta("threadsum_model_calls_total") == 1
    assert delta("threadsum_cache_hits_total") == 0
    ok = {"method": "POST", "route": "/v1/summaries", "status": "200"}
    assert delta("threadsum_http_requests_total", **ok) == 2
    assert delta("threadsum_http_request_duration_seconds_count", **ok) == 2
    # route templates, never ids; a path no route matches is "unmatched"
    missing = {"method": "GET", "route": "/v1/batches/{job_id}", "status": "404"}
    assert delta("threadsum_http_requests_total", **missing) == 1
    lost = {"method": "GET", "route": "unmatched", "status": "404"}
    assert delta("threadsum_http_requests_total", **lost) == 1
    assert _value(after, "threadsum_batch_jobs", state="queued") == 0
    assert _value(after, "threadsum_batch_queue_items") == 0
    # the retry and its reason were logged; the echoed key was not
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


def test_metrics_count_the_batch_queue(tmp_path: Path) -> None:
    settings = Settings(engine="extractive", state_dir=tmp_path / "state", cache="off")
    line = json.dumps({"text": PAGE.decode()}).encode()

    async def go() -> str:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                r = await c.post(
                    "/v1/batches",
                    content=line + b"\n" + line,
                    headers={"Content-Type": "application/x-ndjson"},
                )
                assert r.status_code == 202, r.text
                job = r.json()["id"]
                for _ in range(400):
                    if (await c.get(f"/v1/batches/{job}")).json()["status"] == "done":
                        break
                    await asyncio.sleep(0.05)
                return (await c.get("/metrics")).text

    samples = _samples(asyncio.run(go()))
    assert _value(samples, "threadsum_batch_jobs", state="done") == 1
    assert _value(samples, "threadsum_batch_jobs", state="running") == 0
    assert _value(samples, "threadsum_batch_queue_items") == 0


def test_worker_processes_add_up_their_metrics(tmp_path: Path) -> None:
    """Multiprocess mode: what two processes counted, a third reports as one sum."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    count = (
        "from service import events, metrics\n"
        "with events.listening(metrics.LISTENER):\n"
        "    events.retry('model', 'x'); events.model_tokens('m', 100, 7)\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    report = (
        "from service import metrics; import sys; sys.stdout.write(metrics.exposition().decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", report], env=env, check=True, timeout=120, capture_output=True
    ).stdout.decode()
    samples = _samples(out)
    assert _value(samples, "threadsum_retries_total", client="model") == 2
    assert _value(samples, "threadsum_model_tokens_total", model="m", kind="prompt") == 200


def test_listeners_hear_each_event_once_and_only_while_subscribed() -> None:
    heard: list[tuple[str, str]] = []

    class Ear:
        def model_request(self, model: str, status: str, seconds: float) -> None:
            heard.append(("request", status))

        def model_tokens(self, model: str, prompt: int, completion: int) -> None:
            heard.append(("tokens", str(prompt)))

        def retry(self, client: str, target: str) -> None:
            heard.append(("retry", client))

        def summary_done(self, engine: str, stats: Stats) -> None:
            heard.append(("summary", engine))

        def summary_cached(self, engine: str) -> None:
            heard.append(("cached", engine))

    ear = Ear()
    with events.listening(ear), events.listening(ear):  # two apps sharing one listener
        events.retry("fetch", "hn")
    events.retry("fetch", "hn")
    assert heard == [("retry", "fetch")]


# --- logs ---------------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_logs_show_retries_and_the_output_mode_as_json_and_never_the_key(
    model_server: respx.MockRouter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THREADSUM_API_KEY", SECRET)
    refused = httpx.Response(
        400, json={"error": {"message": "response_format json_schema is not supported"}}
    )
    model_server.post("/chat/completions").side_effect = [
        refused,
        _echoing_503(),
        httpx.Response(200, json=_answer()),
    ]
    root_level = logging.getLogger().level
    code, out, err = _cli(
        capsys,
        "--log-format",
        "json",
        "summarize",
        str(EXAMPLE_PAGE),
        "--engine",
        "llm",
        "--base-url",
        BASE,
        "--model",
        MODEL,
        "--cache",
        "off",
        "--log-level",
        "info",
    )
    assert code == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records]
    assert all(r["level"] in ("info", "warning") and r["logger"] and r["ts"] for r in records)
    assert any("refused output mode json_schema" in m for m in messages), messages
    assert any("retrying" in m and "503" in m for m in messages), messages
    assert any(m.startswith(f"output mode for {MODEL}") for m in messages), messages
    assert SECRET not in err and SECRET not in out
    assert logging.getLogger().level == root_level  # the run put logging back as it was


def test_the_default_level_hides_info(
    model_server: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.post("/chat/completions").side_effect = [
        _echoing_503(),
        httpx.Response(200, json=_answer()),
    ]
    args = ["summarize", str(EXAMPLE_PAGE), "--engine", "llm", "--base-url", BASE]
    code, _, err = _cli(capsys, *args, "--model", MODEL, "--cache", "off")
    assert code == 0 and "retrying" not in err


def test_the_secret_filter_scrubs_messages_arguments_tracebacks_and_extras() -> None:
    stream = io.StringIO()
    settings = Settings(api_key=SECRET, api_keys="svc-key-1,svc-key-2", log_format="json")
    handler = configure(settings, stream)
    log = logging.getLogger("threadsum.test")
    try:
        log.warning("key %s and %s", SECRET, "svc-key-2", extra={"who": f"bearer {SECRET}"})
        try:
            raise ValueError(f"bad {SECRET}")
        except ValueError:
            log.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert SECRET not in text and "svc-key-2" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["message"] == "key *** and ***" and first["who"] == "bearer ***"
    assert "ValueError: bad ***" in second["exc"]


def test_json_lines_carry_extras_and_text_lines_the_logger() -> None:
    record = logging.LogRecord("threadsum.x", logging.INFO, "f", 1, "hi %d", (3,), None)
    record.job = "j1"
    doc = json.loads(JsonFormatter().format(record))
    assert doc["message"] == "hi 3" and doc["job"] == "j1" and doc["level"] == "info"
    assert SecretFilter(["abcd"]).scrub("xabcdx") == "x***x"
    assert SecretFilter(["ab"]).secrets == ["ab"]  # kept; secrets_of drops such short ones


def test_log_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADSUM_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("THREADSUM_LOG_FORMAT", "json")
    s = Settings()
    assert (s.log_level, s.log_format) == ("debug", "json")
    monkeypatch.setenv("THREADSUM_LOG_LEVEL", "loud")
    assert main(["schema"]) == 2


# --- version, base URL ------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "--version")
    assert code == 0 and out.startswith("threadsum ") and out.strip().split()[1][0].isdigit()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("localhost:8000/v1", "must start with http:// or https://"),
        ("http://127.0.0.1:99999/v1", "invalid port"),
        ("http://127.0.0.1:80a/v1", "invalid port"),
        ("http://my host/v1", "must not contain spaces"),
        ("http:///v1", "names no host"),
        ("ftp://example.com/v1", "must start with http:// or https://"),
    ],
)
def test_a_malformed_base_url_is_refused_at_once(
    url: str, problem: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["summarize", str(EXAMPLE_PAGE), "--model", "m"]
    code, _, err = _cli(capsys, *args, "--base-url", url)
    assert code == 2 and err.count("\n") == 1 and problem in err and "--base-url" in err
    monkeypatch.setenv("THREADSUM_BASE_URL", url)
    code, _, err = _cli(capsys, *args)
    assert code == 2 and "THREADSUM_BASE_URL" in err and problem in err
    monkeypatch.delenv("THREADSUM_BASE_URL")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    code, _, err = _cli(capsys, *args)
    assert code == 2 and "OPENAI_BASE_URL" in err and problem in err


def test_a_base_url_error_never_shows_its_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(
        capsys, "summarize", str(EXAMPLE_PAGE), "--base-url", f"http://u:{SECRET}@h:x/"
    )
    assert code == 2 and SECRET not in err


def test_openai_base_url_is_where_the_model_is(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai-env.test/v1")
    s = Settings()
    assert s.base_url == "http://openai-env.test/v1"
    assert not s.model_configured  # alone it does not pick the llm engine, as OPENAI_API_KEY
    code, _, err = _cli(capsys, "summarize", str(EXAMPLE_PAGE))
    assert code == 0 and "extractive engine" in err
    # with a model named, the calls go there
    with respx.mock(base_url="http://openai-env.test/v1", assert_all_called=False) as router:
        router.get("/models").respond(404)
        chat = router.post("/chat/completions").respond(200, json=_answer())
        code, _, err = _cli(
            capsys, "summarize", str(EXAMPLE_PAGE), "--model", MODEL, "--cache", "off"
        )
        assert code == 0, err
        assert chat.call_count == 1
    # THREADSUM_BASE_URL wins over it, --base-url over both
    monkeypatch.setenv("THREADSUM_BASE_URL", "http://threadsum-env.test/v1")
    assert Settings().base_url == "http://threadsum-env.test/v1" and Settings().model_configured
    flagged = Settings().override({"base_url": "http://flag.test/v1"})
    assert flagged.base_url == "http://flag.test/v1"
    # the settings a server hands its workers keep the fallback as it was
    monkeypatch.delenv("THREADSUM_BASE_URL")
    again = Settings.model_validate(Settings().model_dump())
    assert again.base_url == "http://openai-env.test/v1" and not again.model_configured


# --- the CLI: -o, help --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "flags", "starts"),
    [
        ("map.html", [], "<!doctype html"),
        ("map.HTM", [], "<!doctype html"),
        ("map.md", [], "# "),
        ("map.json", [], "{"),
        ("map.txt", [], "{"),
        ("map.md", ["--output", "json"], "{"),
        ("map.html", ["--output", "markdown"], "# "),
    ],
)
def test_o_with_a_known_extension_picks_the_format(
    name: str, flags: list[str], starts: str, tmp_path: Path
) -> None:
    out = tmp_path / name
    assert main(["summarize", str(EXAMPLE_PAGE), "-o", str(out), *flags]) == 0
    assert out.read_text().lower().startswith(starts)


def _commands() -> list[list[str]]:
    parser = build_parser()
    sub = next(
        a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction)
    )
    found = [[name] for name in sub.choices]
    found += [["eval", "stance"], ["eval", "map"]]
    return found


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_help_has_defaults_and_examples(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, *command, "--help")
    assert code == 0 and "examples:\n  threadsum " in out
    assert "default" in out and "(default: None)" not in out
    assert "--log-level" in out


def test_help_names_setting_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _cli(capsys, "summarize", "--help")
    flat = " ".join(out.split())
    assert "(THREADSUM_CHUNK_TOKENS, default 6000)" in flat
    assert "(THREADSUM_CACHE, default use)" in flat
    assert "wins over THREADSUM_BASE_URL, which wins over OPENAI_BASE_URL" in flat
    _, out, _ = _cli(capsys, "serve", "--help")
    assert "(default: 8080)" in out


# --- cost and the estimate ---------------------------------------------------------------------


def test_prices_come_from_the_offline_table() -> None:
    known = price("gpt-4o-mini", None, 1_000_000, 1_000_000)
    assert known.usd is not None and known.usd > 0 and str(known).startswith("$")
    assert price("gpt-4o-mini", "https://api.openai.com/v1/", 0, 0).usd == 0
    local = price("gpt-4o-mini", "http://127.0.0.1:8000/v1", 10, 10)
    assert local.usd is None and "no price known for model gpt-4o-mini at http" in str(local)
    assert price("no-such-model-xyz", None, 10, 10).usd is None
    assert price("", None, 1, 1).note == "no model named"


def test_a_summary_carries_its_cost_when_the_price_is_known(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with respx.mock(base_url="https://api.openai.com/v1", assert_all_called=False) as router:
        router.get("/models").respond(404)
        router.post("/chat/completions").respond(200, json=_answer(prompt=1_000_000, completion=0))
        args = ["summarize", str(EXAMPLE_PAGE), "--engine", "llm", "--model", MODEL]
        code, out, err = _cli(capsys, *args, "--cache", "off")
        assert code == 0, err
        summary = ThreadSummary.model_validate_json(out)
        expected = price(MODEL, None, 1_000_000, 0).usd
        assert summary.stats.cost_usd == expected and expected
        md = tmp_path / "m.md"
        assert main([*args, "--cache", "off", "-o", str(md)]) == 0
        assert f"${expected:.4f}" in md.read_text()


def test_an_unknown_price_is_said_and_left_out_of_the_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with running(MockConfig()) as url:
        args = ["summarize", str(EXAMPLE_PAGE), "--engine", "llm", "--base-url", url]
        code, out, err = _cli(capsys, *args, "--model", "threadsum-mock", "--cache", "off")
        assert code == 0, err
        assert "cost_usd" not in json.loads(out)["stats"]
        md = tmp_path / "m.md"
        assert main([*args, "--model", "threadsum-mock", "--cache", "off", "-o", str(md)]) == 0
        assert "cost unknown" in md.read_text()


def test_the_estimate_matches_the_prompts_a_run_sends(capsys: pytest.CaptureFixture[str]) -> None:
    with running(MockConfig()) as url:
        base = ["summarize", str(EXAMPLE_PAGE), "--engine", "llm", "--base-url", url]
        base += ["--model", "threadsum-mock", "--cache", "off"]
        code, out, err = _cli(capsys, *base, "--estimate")
        assert code == 0, err
        assert httpx.get(url.removesuffix("/v1") + "/mock/stats").json()["requests"] == 0
        assert "model calls        1 (1 map + 0 reduce" in out and "estimate" in out
        assert "cost               unknown (no price known for model threadsum-mock" in out
        code, run, err = _cli(capsys, *base)
        stats = ThreadSummary.model_validate_json(run).stats
    thread = read_thread(PAGE)
    settings = Settings(engine="llm", model="threadsum-mock", base_url=url)
    est = estimate_llm(thread, settings, Runtime(settings).prompts())
    # the mock counts prompt tokens with the same offline estimator: the figures agree exactly
    assert (est.calls, est.prompt_tokens) == (stats.llm_calls, stats.prompt_tokens)
    assert 0 < est.completion_tokens <= est.max_completion_tokens == settings.max_tokens


def test_the_estimate_of_a_large_thread_plans_map_and_reduce_calls() -> None:
    from service.devtools.synthetic import synthetic_thread

    thread = read_thread(json.dumps(synthetic_thread(600, seed=3)).encode())
    settings = Settings(engine="llm", model="gpt-4o-mini", chunk_tokens=2000)
    from service.engines.llm import load_engine_prompts

    est = estimate_llm(thread, settings, load_engine_prompts(default_prompts_dir()))
    assert est.chunks > 3 and est.map_calls == est.chunks and est.reduce_calls >= 2  # + overview
    assert est.cost.usd is not None and est.max_cost.usd is not None
    assert 0 < est.cost.usd <= est.max_cost.usd
    assert est.as_dict()["calls"] == est.map_calls + est.reduce_calls


def test_the_extractive_engine_estimates_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(
        capsys, "summarize", str(EXAMPLE_PAGE), "--engine", "extractive", "--estimate"
    )
    assert code == 0 and "calls no model" in out


# --- the batch closing line ---------------------------------------------------------------------


def test_the_batch_ends_with_a_line_that_says_where_the_failed_records_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    good = json.dumps({"text": PAGE.decode()})
    src.write_text(f"{good}\nnot json at all\n{good}\n")
    out = tmp_path / "out.jsonl"
    code, _, err = _cli(capsys, "batch", str(src), "-o", str(out), "--engine", "extractive")
    assert code == 3
    last = err.splitlines()[-1]
    assert last.startswith("batch: 3 threads in ") and ": 2 ok, 1 failed (input line 2:" in last
    assert f"their records in {out} have" in last and "--retry-failed" in last
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
