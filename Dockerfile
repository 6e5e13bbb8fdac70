# Static boxoffice binary in a minimal image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/boxoffice ./cmd/boxoffice && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/boxoffice /usr/local/bin/boxoffice
# /data belongs to the nonroot user, so a fresh named volume mounted there is writable
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
EXPOSE 8080
ENV BOXOFFICE_HTTP=0.0.0.0:8080 BOXOFFICE_DATA=/data
ENTRYPOINT ["/usr/local/bin/boxoffice"]
CMD ["serve"]
