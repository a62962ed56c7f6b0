# convoso-exporter container image.
#
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" -t convoso-exporter .
#   podman build --format docker --build-arg REVISION="$(git rev-parse HEAD)" -t convoso-exporter .
#   docker run -p 127.0.0.1:10717:10717 \
#     -v "$PWD/config.yaml:/etc/convoso-exporter/config.yaml:ro" \
#     -v "$PWD/convoso-token:/etc/convoso-exporter/convoso-token:ro" convoso-exporter
#
# The token file lies beside the config, as on a host: the config says
# `auth_token_file: convoso-token` (relative to the config's folder), so the same
# config.yaml works on the host and in the container. The token is never baked into the
# image nor passed on the command line.
# The install steps here are the ones tests/system/test_packaging.py runs in a fresh venv:
# build the wheel, install only the wheel with the pinned runtime dependencies
# (constraints.txt), run the installed `convoso-exporter`.
# No `# syntax=` line: the build needs no registry but the base image's (BuildKit's
# built-in frontend reads this file). podman/buildah need `--format docker`: the default
# OCI format has no HEALTHCHECK and drops it.

# ---- builder: turns the source tree into a wheel --------------------------------------
FROM python:3.11-slim AS builder

WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY convoso_exporter ./convoso_exporter
# The git commit built from (`--version`, convoso_exporter_build_info): the build context
# has no .git, so the wheel's build is told (setup.py); "unknown" when not given.
ARG REVISION=""
ENV CONVOSO_EXPORTER_REVISION=${REVISION}
# The pins travel with the wheel to the final stage.
COPY constraints.txt /dist/constraints.txt
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# ---- final: the wheel and its runtime dependencies, nothing else -----------------------
FROM python:3.11-slim

ARG VERSION=dev
ARG REVISION=""
LABEL org.opencontainers.image.title="convoso-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Convoso contact-center Agent Monitor API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/convoso-exporter/convoso-exporter" \
      org.opencontainers.image.documentation="https://github.com/convoso-exporter/convoso-exporter/tree/main/docs"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# The wheel is bind-mounted from the builder, so it never becomes a layer of this image;
# its dependencies come at exactly the versions the tests ran with.
RUN --mount=type=bind,from=builder,source=/dist,target=/dist \
    python -m pip install --no-cache-dir --constraint /dist/constraints.txt /dist/*.whl

# A fixed numeric UID, so Kubernetes `runAsNonRoot` can verify it without /etc/passwd.
RUN groupadd --system --gid 10001 exporter \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin exporter
USER 10001:10001

EXPOSE 10717

# slim has no curl: ask the health endpoint with the Python already in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:10717/-/healthy', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["convoso-exporter"]
CMD ["--config.file=/etc/convoso-exporter/config.yaml"]
