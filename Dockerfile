# The hub image (web node and worker). Production-like runs use docker-compose.yml with real MongoDB.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY hub hub
COPY channels channels
COPY bot bot
COPY knowledge_base knowledge_base
COPY agent_console agent_console
RUN pip install --no-cache-dir -c constraints.txt .
EXPOSE 8080
CMD ["python", "-m", "hub", "serve", "--host", "0.0.0.0"]
