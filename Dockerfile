# syntax=docker/dockerfile:1
# Signaalbot's container image (docs/operations.md). Two stages: the build stage has compilers and
# installs the pinned, hashed dependency set (requirements/main.txt, `make lock`) into a virtualenv;
# the final stage copies that virtualenv only, and runs as a non-root user.
#
#   docker build -t signaalbot .
#   docker run --rm signaalbot --help
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# Compilers for any dependency that has no binary wheel for this platform (pip builds it from the
# sdist, whose hash is in the lock). Distribution packages are not pinned: the base image is.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libpq-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements/ requirements/
RUN python -m venv /opt/signaalbot \
    && /opt/signaalbot/bin/pip install --require-hashes -r requirements/main.txt \
    && /opt/signaalbot/bin/pip install --require-hashes -r requirements/build.txt
COPY pyproject.toml README.md LICENSE ./
COPY bot/ bot/
COPY flows/ flows/
COPY models/ models/
# The project itself, without dependencies (all of them came from the lock) and without fetching a
# build backend (setuptools came from requirements/build.txt).
RUN /opt/signaalbot/bin/pip install --no-deps --no-build-isolation . \
    && /opt/signaalbot/bin/pip uninstall -y setuptools \
    && /opt/signaalbot/bin/python -m compileall -q /opt/signaalbot

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="Signaalbot" \
      org.opencontainers.image.description="Report and handle signals of human trafficking from Slack" \
      org.opencontainers.image.licenses="EUPL-1.2"
# tini reaps the work process and passes signals on; tzdata for BOT_TIMEZONE. No compilers here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 signaalbot \
    && useradd --system --uid 10001 --gid signaalbot --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin signaalbot \
    && mkdir /data && chown signaalbot:signaalbot /data && chmod 0700 /data
COPY --from=build /opt/signaalbot /opt/signaalbot
COPY deploy/docker/livez.py /opt/signaalbot/livez.py
ENV PATH=/opt/signaalbot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SIGNAAL_DATA_DIR=/data \
    PORT=3000 \
    HEALTH_PORT=8081
# The SQLite default (DATABASE_URL unset) and its key file live here; with PostgreSQL it stays empty.
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
# 3000: HTTP mode's Slack endpoint with /livez, /readyz and /metrics; 8081: the same probes in Socket Mode.
EXPOSE 3000 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/signaalbot/livez.py"]
ENTRYPOINT ["tini", "--", "signaalbot"]
CMD ["run"]
