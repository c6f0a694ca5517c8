# digit-lab: the web demo and JSON API on CPU.
#
#   docker build -t digit-lab .
#   docker run --rm --read-only --tmpfs /tmp -p 127.0.0.1:8000:8000 digit-lab    # then open http://127.0.0.1:8000
#
# Settings come from the environment: DIGIT_LAB_PORT, DIGIT_LAB_WORKERS, DIGIT_LAB_DEFAULT_MODEL and every other
# DIGIT_LAB_* variable that app/config.py reads (docker run -e DIGIT_LAB_DEFAULT_MODEL=relu ...). docs/docker.md.
#
# `--build-arg RUNTIME=litert` builds a much smaller image that serves the models/<id>.tflite files with LiteRT
# and has no TensorFlow or Keras at all (TensorFlow is about 80% of the default image).

ARG PYTHON_IMAGE=python:3.11-slim

# ---- Stage 1: the dependency list, read from pyproject.toml (its one home). ----
# With RUNTIME=keras the list as it stands (the CPU-only tensorflow-cpu wheel on Linux x86_64); with
# RUNTIME=litert without TensorFlow and Keras, plus the `litert` extra. A stage of its own, so an edit elsewhere
# in pyproject.toml (tool settings, version) leaves requirements.txt, and so the slow layer below, unchanged.
FROM ${PYTHON_IMAGE} AS requirements
ARG RUNTIME=keras
WORKDIR /build
COPY pyproject.toml .
RUN python3 -c "import sys, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
lite = sys.argv[1] == 'litert'; \
deps = [d for d in p['dependencies'] if not (lite and d.startswith(('tensorflow', 'keras')))]; \
print('\n'.join(deps + (p['optional-dependencies']['litert'] if lite else [])))" "$RUNTIME" > requirements.txt

# ---- Stage 2: the dependencies, in a virtual environment that the final stage copies whole. ----
FROM ${PYTHON_IMAGE} AS deps
# `strip` (binutils) lives only in this stage; the final image has no build tools.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Only the dependency list comes in here, so this slow layer (TensorFlow is most of the image) is rebuilt only
# when the dependencies change, never for a code change.
COPY --from=requirements /build/requirements.txt .
# A venv (not the system pip) so the same steps work whichever Python the base image ships. Then the room
# serving never uses goes:
# - TensorFlow's C++ headers (~290 MB; they are for compiling custom ops);
# - the static symbol tables of TensorFlow's shared libraries (~250 MB; only debuggers and crash symbolizers
#   read them, the dynamic linker uses .dynsym, which stays). Only TensorFlow's own libraries are stripped:
#   the auditwheel-patched ones in *.libs/ are left alone, since strip can corrupt patchelf-edited files;
# - libclang (~60 MB; a C parser TensorFlow lists as a dependency but never imports at run time);
# - pip itself.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt \
 && tf=$(echo /opt/venv/lib/python3*/site-packages/tensorflow) \
 && if [ -d "$tf" ]; then rm -rf "$tf/include" && find "$tf" -name '*.so*' -type f -exec strip --strip-unneeded {} +; fi \
 && /opt/venv/bin/pip uninstall --yes --disable-pip-version-check libclang pip

# ---- Stage 3: digit-lab itself, as a wheel (code, page, models), installed into a folder of its own. ----
# A stage of its own so that a code or model change rebuilds only this small layer, never the venv above. The
# folder goes on the venv's path through a .pth file (made in the final stage), so nothing needs PYTHONPATH.
FROM ${PYTHON_IMAGE} AS package
WORKDIR /src
COPY pyproject.toml README.md ./
COPY models/ models/
COPY static/ static/
COPY templates/ templates/
COPY app/ app/
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /dist . \
 && /opt/build/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps --no-compile \
        --target /opt/digit-lab /dist/digit_lab-*.whl \
 && rm -rf /opt/digit-lab/bin

# ---- Stage 4: the runtime image: base Python, the venv, the installed package; nothing else. ----
FROM ${PYTHON_IMAGE}
ARG RUNTIME=keras
# HOME and KERAS_HOME point at /tmp so a read-only root filesystem (with a tmpfs on /tmp) works: Keras writes
# its config under ~/.keras. No .pyc is written at run time (they are compiled below, at build time).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    KERAS_HOME=/tmp/.keras \
    TF_CPP_MIN_LOG_LEVEL=2 \
    DIGIT_LAB_HOST=0.0.0.0 \
    DIGIT_LAB_PORT=8000 \
    DIGIT_LAB_RUNTIME=${RUNTIME} \
    DIGIT_LAB_GRACEFUL_TIMEOUT=8
# An unprivileged user with no home and no shell; the files below stay root's, so the server cannot change its own code.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=deps /opt/venv /opt/venv
COPY --from=package /opt/digit-lab /opt/digit-lab
RUN echo /opt/digit-lab > "$(echo /opt/venv/lib/python3*/site-packages)/digit-lab.pth" \
 && python -m compileall -q /opt/digit-lab
# An empty working directory that the server cannot write to.
WORKDIR /app
USER app
EXPOSE 8000
# Liveness with the standard library (the image has no curl). The server accepts connections only once the
# default model is loaded and warmed, so a first success also means ready; start-period covers TensorFlow's import.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DIGIT_LAB_PORT', '8000'), timeout=2)"]
# Exec form: Python is PID 1 and receives SIGTERM itself; uvicorn then stops accepting, lets in-flight requests
# finish (up to DIGIT_LAB_GRACEFUL_TIMEOUT, below `docker stop`'s 10 s) and exits 0.
# `python -m app.cli` is the `digit-lab` console script.
CMD ["python", "-m", "app.cli", "serve"]
