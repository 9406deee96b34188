FROM python:3.13-slim
# The var volume of docker-compose.yml; static files stay in the image, where a new image brings its own.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BBDASH_VAR_DIR=/var/lib/bbdash BBDASH_STATIC_ROOT=/app/staticfiles
WORKDIR /app
# The pinned packages alone first, each checked against its hash, so a change to the code reuses this layer.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md manage.py ./
COPY dashboard ./dashboard
COPY bitbucket_sync ./bitbucket_sync
COPY bitbucket_emulator ./bitbucket_emulator
COPY templates ./templates
COPY static ./static
# The project as a regular install (not editable), built by the locked setuptools with no index to fetch from: a
# requirement the lock lacks fails the build instead of coming in unchecked. collectstatic reads the settings, which
# make a signing key into the var dir when none is set: a throwaway one here, deleted with the folder.
RUN pip install --no-cache-dir --no-index --no-build-isolation . \
    && rm -rf build bbdash.egg-info \
    && BBDASH_VAR_DIR=/tmp/build-var python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && useradd --create-home bbdash && mkdir -p /var/lib/bbdash && chown bbdash /var/lib/bbdash
USER bbdash
EXPOSE 8000
CMD ["gunicorn", "dashboard.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
