# syntax=docker/dockerfile:1
#
# One image with both binaries: dangol (API + Temporal worker) and the local
# Twilio stand-in. Used by docker-compose.yml.

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/dangol ./cmd/dangol && \
    go build -trimpath -ldflags="-s -w" -o /out/twilio-standin ./cmd/twilio-standin

FROM debian:trixie-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin dangol
COPY --from=build /out/dangol /out/twilio-standin /usr/local/bin/
USER dangol
EXPOSE 8080 8089
CMD ["dangol", "serve"]
