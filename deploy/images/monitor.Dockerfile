# aibos-otel monitor image (the `aibos-otel` command: monitor, render, doctor). The project
# publishes no images; build this one from the repository root:
#
#   docker build -f deploy/images/monitor.Dockerfile -t aibos-otel-monitor:0.1.0 .
#
# Untested here: the project's machines have no Docker engine (docs/deploy.md). It installs the
# package without the optional Rust scan (native/): the pure-Python scan ingests about 454 000
# records/s on one core (docs/operations.md), more than a gateway tier sends.
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY aibos_otel/ aibos_otel/
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim-bookworm
COPY --from=build /install /usr/local
# The data directory and the render targets (deploy/compose: the one-shot `render` service) belong
# to the users that write them, so fresh named volumes start writable. 65534 (nobody) is the user
# of the Prometheus project's Alertmanager image, which must read the 0600 file render writes.
RUN groupadd -g 10001 aibos && useradd -u 10001 -g 10001 -M -d /nonexistent -s /usr/sbin/nologin aibos \
    && mkdir -p /var/lib/aibos-otel /var/lib/aibos-otel-render/alertmanager /var/lib/aibos-otel-render/loki-rules \
    && chown 10001:10001 /var/lib/aibos-otel \
    && chown -R 65534:65534 /var/lib/aibos-otel-render
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
USER 10001:10001
EXPOSE 4317 4318 8088
ENTRYPOINT ["aibos-otel"]
CMD ["monitor", "--host=0.0.0.0", "--data-dir=/var/lib/aibos-otel"]
