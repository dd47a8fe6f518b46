# syntax=docker/dockerfile:1
# threadsum HTTP service. Build: docker build -t threadsum .
# Run:   docker run -p 8080:8080 -v threadsum-data:/data \
#          -e THREADSUM_API_KEYS=change-me -e THREADSUM_BASE_URL=… -e THREADSUM_MODEL=… threadsum

# Optional extras to install, e.g. --build-arg EXTRAS="[redis,ray]" (deploy/compose.yaml does).
ARG EXTRAS=""

# --- builder: a wheel of the project and wheels of its dependencies ---------------------------
FROM python:3.11-slim AS builder
ARG EXTRAS
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service/ service/
COPY prompts/ prompts/
RUN pip wheel --wheel-dir /wheels ".${EXTRAS}"

# --- runtime: the wheels installed, nothing else -----------------------------------------------
FROM python:3.11-slim
ARG EXTRAS
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    THREADSUM_STATE_DIR=/data/state \
    THREADSUM_CACHE_DIR=/data/cache \
    THREADSUM_PROMPTS_DIR=/usr/local/share/threadsum/prompts
# The wheel carries prompts/ to <prefix>/share/threadsum/prompts (THREADSUM_PROMPTS_DIR points
# there too); the build fails if they cannot be loaded.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "threadsum${EXTRAS}" \
    && python -c "from service.engines.llm import load_engine_prompts; load_engine_prompts()" \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin threadsum \
    && mkdir -p /data/state /data/cache \
    && chown -R threadsum:threadsum /data
# Behind a reverse proxy, set FORWARDED_ALLOW_IPS to its address so rate limits see client IPs.
USER threadsum
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["threadsum", "serve", "--host", "0.0.0.0", "--port", "8080"]
