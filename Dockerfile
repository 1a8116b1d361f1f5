# One image for every Tingle process: `tingle serve` (web app) or `tingle worker` (builds).
#
# Build arguments (all optional; README "Running it for real" has the whole recipe):
#   BASE           any Debian-based image with Python 3.11+ and python3-venv. Machines that
#                  cannot pull use the locally made tingle/debian:bookworm (scripts/base-images.sh).
#   PIP_INDEX_URL  the package index pip installs Tingle's dependencies from (a mirror, a proxy).
#   PIP_CA_BUNDLE  a PEM bundle pip trusts, as a path inside the build context under certs/
#                  (git ignores what you put there), for an index behind a private CA or a
#                  TLS-inspecting proxy: e.g. `cp /etc/ssl/certs/ca-certificates.crt certs/pip-ca.pem`
#                  then `--build-arg PIP_CA_BUNDLE=certs/pip-ca.pem`. Used in the build stage only:
#                  the final image neither contains nor trusts it.
#   TINGLE_UID     the uid (and gid) the processes run as: 10001.
# The build fetches packages (pip; apt for git when the base lacks it): give it a network that
# reaches them, e.g. `docker build --network host` (compose.yaml does).
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_CA_BUNDLE=
COPY certs /tmp/certs
RUN python3 -m venv /opt/tingle
COPY pyproject.toml README.md /opt/tingle-src/
COPY tingle /opt/tingle-src/tingle
RUN set -eu; \
    if [ -n "$PIP_CA_BUNDLE" ]; then \
      bundle="/tmp/certs/${PIP_CA_BUNDLE#certs/}"; \
      [ -s "$bundle" ] || { echo "PIP_CA_BUNDLE=$PIP_CA_BUNDLE: no such file under certs/" >&2; exit 1; }; \
      export PIP_CERT="$bundle"; \
    fi; \
    /opt/tingle/bin/pip install --no-cache-dir --disable-pip-version-check \
      --index-url "$PIP_INDEX_URL" /opt/tingle-src

FROM ${BASE}
ARG TINGLE_UID=10001
RUN if ! command -v git >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi
# Non-root. A worker reaches the Docker engine through its socket: give the container the
# socket's group (compose.yaml: group_add) rather than running as root. The folders a process
# writes are made here, owned by that user, so a named volume mounted on one starts writable.
RUN groupadd --system --gid "$TINGLE_UID" tingle \
    && useradd --system --uid "$TINGLE_UID" --gid tingle --home-dir /var/lib/tingle tingle \
    && install -d -o tingle -g tingle -m 0755 /var/lib/tingle \
    && install -d -o tingle -g tingle -m 0700 /var/lib/tingle/archive /var/lib/tingle/secrets \
       /var/lib/tingle/workspaces /var/lib/tingle/build-secrets
COPY --from=build /opt/tingle /opt/tingle
COPY templates /opt/tingle-src/templates
ENV PATH=/opt/tingle/bin:$PATH PYTHONUNBUFFERED=1 TINGLE_LOG_FORMAT=json \
    TINGLE_TEMPLATES_DIR=/opt/tingle-src/templates
USER tingle
WORKDIR /var/lib/tingle
EXPOSE 8080
ENTRYPOINT ["tingle"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
