# aibos-otelcol image. The project publishes no images; build this one from the repository root:
#
#   docker build -f deploy/images/collector.Dockerfile -t aibos-otelcol:0.161.0 .
#
# Untested here: the project's machines have no Docker engine (docs/deploy.md). The build stage runs
# the same collector-config/build.sh as CI, so the binary is the one the tests validate.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY collector-config/ collector-config/
COPY collector-components/ collector-components/
RUN AIBOS_CACHE_DIR=/cache bash collector-config/build.sh && cp /cache/otelcol/*/aibos-otelcol /aibos-otelcol

# Alpine, not distroless: Compose health checks need a `wget` in the image (the binary is static,
# CGO_ENABLED=0, so any base runs it). The directories the configs write to belong to the
# collector's user, so a fresh named volume (Compose) starts writable.
FROM alpine:3.22
RUN addgroup -S -g 10001 aibos && adduser -S -D -H -u 10001 -G aibos aibos \
    && mkdir -p /var/lib/aibos-otelcol && chown 10001:10001 /var/lib/aibos-otelcol
COPY --from=build /aibos-otelcol /usr/local/bin/aibos-otelcol
COPY collector-config/agent.yaml collector-config/gateway.yaml /etc/aibos-otelcol/
USER 10001:10001
EXPOSE 4317 4318 13133 8888 8889
ENTRYPOINT ["/usr/local/bin/aibos-otelcol"]
CMD ["--config=/etc/aibos-otelcol/gateway.yaml"]
