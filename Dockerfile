# The ml_lifecycle prediction API (FastAPI on uvicorn) in a container.
#
# Build, from the project root, after `dvc repro` has written models/ and reports/:
#   docker build -t ml-lifecycle-api .
# Run, serving the model package copied into the image (works offline):
#   docker run --rm -p 8000:8000 ml-lifecycle-api
#   curl -s localhost:8000/ready; curl -s -XPOST localhost:8000/predict -H 'content-type: application/json' -d '{...one record...}'
# Or mount the model files instead (a new model without a rebuild; the image's copies are hidden):
#   docker run --rm -p 8000:8000 -v "$PWD/models:/app/models:ro" -v "$PWD/reports:/app/reports:ro" ml-lifecycle-api
# Serve the registry's champion instead of the folder: needs a tracking server the container can reach
# (the image has no mlflow.db; without one it warns and serves models/model); models/serving/ must be writable:
#   docker run --rm -p 8000:8000 -e MLFLOW_TRACKING_URI=http://mlflow.internal:5000 ml-lifecycle-api
# API key, prediction log kept on the host (monitoring reads logs/predictions/*.jsonl), two worker processes:
#   docker run --rm -p 8000:8000 -e ML_LIFECYCLE_API_KEY=change-me -v "$PWD/logs:/app/logs" ml-lifecycle-api \
#     ml-lifecycle serve --host 0.0.0.0 --port 8000 --workers 2
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# XGBoost's wheel needs the OpenMP runtime, which the slim image lacks
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# the library with the `serve` extra only (no JupyterLab, DVC, nbdev, Optuna, fairlearn), with the tested pins:
# this layer is rebuilt only when the code or the pins change
COPY pyproject.toml README.md constraints.txt ./
COPY ml_lifecycle/ ml_lifecycle/
RUN pip install -c constraints.txt ".[serve]"

# what the API reads: its settings (the serve section), the model package, the request schema, the
# fallback baseline and its roles, and the phase-3 reports (threshold, go/no-go, registry version)
COPY params.yaml ./
COPY models/model/ models/model/
COPY models/schema.json models/baseline.skops models/baseline.skops.sha256 models/features.json models/
COPY reports/evaluate.json reports/go_no_go.json reports/tune.json reports/

RUN useradd --create-home --uid 10001 app && mkdir -p logs/predictions models/serving && chown -R app:app logs models/serving
USER app

EXPOSE 8000
# no curl in the slim image: ask /health with Python
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
CMD ["ml-lifecycle", "serve", "--host", "0.0.0.0", "--port", "8000"]
