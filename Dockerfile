# One image for every Tingle process: `tingle serve` (web app) or `tingle worker` (builds).
# BASE may be any Debian-based image with Python 3.11+, e.g. the locally made tingle/debian:bookworm
# (scripts/base-images.sh) on machines that cannot pull: docker build --build-arg BASE=... .
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

RUN if ! command -v git >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN python3 -m venv /opt/tingle
ENV PATH=/opt/tingle/bin:$PATH PYTHONUNBUFFERED=1 TINGLE_LOG_FORMAT=json \
    TINGLE_TEMPLATES_DIR=/opt/tingle-src/templates
COPY pyproject.toml README.md /opt/tingle-src/
COPY tingle /opt/tingle-src/tingle
COPY templates /opt/tingle-src/templates
RUN pip install --no-cache-dir /opt/tingle-src

# Non-root. A worker reaches the Docker engine through its socket: give the container the
# socket's group (compose.yaml: group_add) rather than running as root.
RUN useradd --system --uid 10001 --home-dir /var/lib/tingle --create-home tingle
USER tingle
WORKDIR /var/lib/tingle
EXPOSE 8080
ENTRYPOINT ["tingle"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
