"""The deployment sketch (``deploy/compose.yaml``), checked by reading it: no container engine
runs here. The parts are there and wired to each other, and every ``THREADSUM_*`` setting it
gives is a real setting whose value the service accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from service.settings import Settings

from .conftest import ROOT

DEPLOY = ROOT / "deploy"
_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def _substitute(value: str) -> str:
    """Compose's ``${VAR:-default}``, with every variable unset (``:?`` ones given "x")."""

    def one(m: re.Match[str]) -> str:
        op, text = m.group(2) or "", m.group(3) or ""
        return "x" if "?" in op else text  # a required variable, or the default

    return _VAR.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {k: _substitute(str(v)) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    assert isinstance(command, list)
    return [_substitute(str(x)) for x in command]


def test_the_parts_are_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"proxy", "api", "redis", "vllm", "ray-head", "ray-worker", "batch"} <= set(services)
    assert str(services["vllm"]["image"]).startswith("vllm/vllm-openai:")
    assert str(services["redis"]["image"]).startswith(("redis:", "valkey/valkey:"))
    replicas = int(_substitute(str(services["api"]["deploy"]["replicas"])))
    assert replicas >= 2
    assert int(_substitute(str(services["ray-worker"]["deploy"]["replicas"]))) >= 1
    # Replicas cannot share a host port: only the proxy publishes one.
    assert "ports" not in services["api"]
    assert "api:8080" in (DEPLOY / "nginx.conf").read_text(encoding="utf-8")


def test_the_api_replicas_share_redis_and_talk_to_vllm(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = _env(services["api"])
    base = urlsplit(env["THREADSUM_BASE_URL"])
    vllm = _command(services["vllm"])
    assert base.hostname == "vllm" and str(base.port) == vllm[vllm.index("--port") + 1]
    assert base.path == "/v1"
    assert env["THREADSUM_MODEL"] == vllm[vllm.index("--model") + 1]  # the name vLLM serves
    cache = urlsplit(env["THREADSUM_CACHE_URL"])
    assert cache.hostname == "redis" and cache.port == 6379
    assert env["THREADSUM_STATE_DIR"] in {
        v.split(":")[1] for v in services["api"]["volumes"] if str(v).startswith("jobs:")
    }  # one named volume for every replica: any of them answers for any batch
    for name in ("redis", "vllm"):
        assert services["api"]["depends_on"][name]["condition"] == "service_healthy"
        assert "healthcheck" in services[name]


def test_ray_nodes_join_the_head_and_the_batch_runs_on_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    head = _command(services["ray-head"])
    assert head[:3] == ["ray", "start", "--head"]
    port = next(x.split("=")[1] for x in head if x.startswith("--port="))
    client = next(x.split("=")[1] for x in head if x.startswith("--ray-client-server-port="))
    worker = _command(services["ray-worker"])
    assert f"--address=ray-head:{port}" in worker
    batch = _command(services["batch"])
    assert batch[:2] == ["threadsum", "batch"] and "--resume" in batch
    assert batch[batch.index("--ray") + 1] == f"ray://ray-head:{client}"
    for name in ("ray-head", "ray-worker", "batch"):
        # Ray's actors summarize with the same model server and the same shared cache.
        assert (
            _env(services[name])["THREADSUM_BASE_URL"]
            == _env(services["api"])["THREADSUM_BASE_URL"]
        )
        assert _env(services[name])["THREADSUM_CACHE_URL"].startswith("redis://redis:")


def test_every_setting_given_is_real_and_valid(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    for name, service in compose["services"].items():
        given = {k: v for k, v in _env(service).items() if k.startswith("THREADSUM_")}
        unknown = {k for k in given if k.removeprefix("THREADSUM_").lower() not in fields}
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"
        changes = {k.removeprefix("THREADSUM_").lower(): v for k, v in given.items()}
        Settings().override(changes)  # raises UsageError naming a value the service refuses


def test_every_named_volume_is_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = _substitute(str(volume)).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, source
    for path in ("nginx.conf",):
        assert Path(DEPLOY / path).is_file()
