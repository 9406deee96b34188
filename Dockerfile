FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dashboard ./dashboard
COPY bitbucket_sync ./bitbucket_sync
COPY bitbucket_emulator ./bitbucket_emulator
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir -e . && useradd --create-home bbdash && mkdir -p /var/lib/bbdash && chown bbdash /var/lib/bbdash
USER bbdash
EXPOSE 8000
CMD ["gunicorn", "dashboard.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
