"""The web page at ``/``, its static files, and the API docs (``/docs``, ``/redoc``) served offline.

- ``GET /``: the form (a URL or HN item id, or a pasted thread; the engine).
- ``POST /`` (``application/x-www-form-urlencoded``): the form posted. Without JavaScript the
  answer is the whole page with the server-rendered map (or the error, with its status). The
  page's script posts the same form with ``Accept: text/event-stream`` and gets the run's
  progress as events, the last one the map fragment (:mod:`service.http.events`).
- ``GET /static/{name}``: the page's CSS and script, and Swagger UI's and ReDoc's files from
  the ``fastapi-offline`` package, all from the installed packages: nothing from a CDN.

Every page is sent under a strict Content Security Policy: scripts, styles and connections
from this server only, no inline script, no frames, forms posting here only. The docs pages
need Swagger UI's inline start-up script and ReDoc's inline styles and workers, so theirs
allows exactly that. When the service requires API keys, ``POST /`` does too (an ``X-API-Key``
header, ``Authorization: Bearer``, or the form's ``api_key`` field) and is rate-limited as
``/v1`` is.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from ...errors import ThreadsumError, UsageError, describe
from ...models import Thread, ThreadSummary
from ...render.html import FormValues, render_page
from ...settings import Settings
from ...summarizer import resolve_engine
from ..bounds import ClientGone, deadline, until_disconnected
from ..events import accepts_events
from ..inputs import media_type, read_body
from ..problems import ApiProblem
from ..running import prepare, run_prepared
from ..security import Guard
from ..supervisor import Service, service_of
from . import live

__all__ = ["PAGE_CSP", "web_router"]

PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""The policy of the page: everything from this server, nothing inline, no frames."""
DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; frame-ancestors 'none'"
)
"""The policy of ``/docs`` and ``/redoc``: their own files, and the inline parts they need."""

_STATIC: Final[dict[str, tuple[str, str, str]]] = {
    # name: (package, file, media type)
    "style.css": ("service.render", "style.css", "text/css; charset=utf-8"),
    "threadsum.js": ("service.web", "static/threadsum.js", "text/javascript; charset=utf-8"),
    "icon.svg": ("service.web", "static/icon.svg", "image/svg+xml"),
    "swagger-ui-bundle.js": (
        "fastapi_offline",
        "static/swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
    ),
    "swagger-ui.css": ("fastapi_offline", "static/swagger-ui.css", "text/css; charset=utf-8"),
    "redoc.standalone.js": (
        "fastapi_offline",
        "static/redoc.standalone.js",
        "text/javascript; charset=utf-8",
    ),
    "favicon.png": ("fastapi_offline", "static/favicon.png", "image/png"),
}
_FORM: Final = "application/x-www-form-urlencoded"
_MAX_FIELDS: Final = 16


def _headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


@cache
def _asset(name: str) -> bytes:
    package, path, _ = _STATIC[name]
    node: Traversable = resources.files(package)
    for part in path.split("/"):
        node = node.joinpath(part)
    return node.read_bytes()


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _engines(settings: Settings) -> list[tuple[str, str]]:
    try:
        auto = resolve_engine(settings.override({"engine": "auto"})).kind
    except UsageError:
        auto = "llm"
    engines = [("auto", f"auto ({auto})"), ("extractive", "extractive (no model)")]
    if settings.model:
        engines.append(("llm", f"llm ({settings.model})"))
    return engines


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("the form is not UTF-8") from None
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    return {k: v[-1] for k, v in fields.items()}


def web_router(guard: Guard) -> APIRouter:
    """The page's routes; ``guard`` checks API keys and the rate limit of ``POST /``."""
    router = APIRouter(include_in_schema=False)

    def page(
        request: Request,
        service: Service,
        *,
        status: int = 200,
        form: FormValues | None = None,
        error: str | None = None,
        summary: ThreadSummary | None = None,
        thread: Thread | None = None,
    ) -> HTMLResponse:
        html = render_page(
            summary=summary,
            thread=thread,
            form=form,
            error=error,
            engines=_engines(service.settings),
            key_required=bool(service.settings.api_key_set),
            root=_root(request),
        )
        return HTMLResponse(html, status_code=status, headers=_headers(PAGE_CSP))

    @router.get("/", name="web_page")
    async def get_page(request: Request) -> HTMLResponse:
        return page(request, service_of(request))

    @router.post("/", name="web_submit")
    async def post_page(request: Request) -> Response:
        service = service_of(request)
        events = accepts_events(request.headers.get("accept", ""))
        form = FormValues()
        try:
            if media_type(request) not in (_FORM, ""):
                raise ApiProblem(415, f"send the form as {_FORM}")
            fields = _form(await read_body(request))
            form = FormValues(
                url=fields.get("url", "").strip(),
                text=fields.get("text", ""),
                engine=fields.get("engine", "auto") or "auto",
            )
            await _check_key(guard, request, fields.get("api_key", ""))
            if not form.url and not form.text.strip():
                raise UsageError("enter a thread URL or HN item id, or paste a thread")
            if form.url and form.text.strip():
                raise UsageError("enter a URL or paste a thread, not both")
            run = service.settings.override({"engine": form.engine}, name_of=lambda _: "engine")
            engine = resolve_engine(run)
            async with deadline(run.request_timeout):
                if form.url:
                    work = prepare(service, run, engine, url=form.url)
                else:
                    work = prepare(service, run, engine, body=form.text.encode("utf-8"))
                prepared = await until_disconnected(request, work)
                if events:
                    return live.stream(request, prepared, run, engine, "map")
                summary = await until_disconnected(
                    request, run_prepared(service, prepared, run, engine)
                )
        except ClientGone:
            raise
        except ApiProblem as e:
            if events:
                raise
            return page(request, service, status=e.status, form=form, error=e.detail)
        except ThreadsumError as e:
            if events:
                raise
            info = describe(e)
            return page(request, service, status=info.status, form=form, error=info.detail)
        return page(request, service, form=form, summary=summary, thread=prepared.thread)

    @router.get("/static/{name}", name="web_static")
    async def static(name: str) -> Response:
        if name not in _STATIC:
            raise ApiProblem(404, f"no static file {name!r}")
        headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return Response(_asset(name), media_type=_STATIC[name][2], headers=headers)

    @router.get("/docs", name="docs")
    async def docs(request: Request) -> HTMLResponse:
        root = _root(request)
        html = get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="threadsum API",
            swagger_js_url=f"{root}/static/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/static/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/favicon.png",
        )
        return HTMLResponse(html.body, headers=_headers(DOCS_CSP))

    @router.get("/redoc", name="redoc")
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        html = get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title="threadsum API",
            redoc_js_url=f"{root}/static/redoc.standalone.js",
            redoc_favicon_url=f"{root}/static/favicon.png",
            with_google_fonts=False,
        )
        return HTMLResponse(html.body, headers=_headers(DOCS_CSP))

    return router


async def _check_key(guard: Guard, request: Request, field: str) -> None:
    """Apply the ``/v1`` guard to the form: a key from its headers or its ``api_key`` field."""
    header = request.headers.get("x-api-key") or None
    bearer = None
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=credentials.strip())
    await guard(request, bearer, header or (field.strip() or None))
