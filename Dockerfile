# memory_hub: the central server. Build: docker build -t memory-hub .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY memory_core ./memory_core
COPY memoryd ./memoryd
COPY memory_hub ./memory_hub
COPY mcp_shim ./mcp_shim
COPY memory_viewer ./memory_viewer
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin hub
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2).status != 200)"]
ENTRYPOINT ["memory-hub"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
