#!/bin/sh
# Local stand-ins for the Dockerfile's two base images, for a machine that reaches
# Debian's mirror but no container registry (no Docker Hub, no registry mirror): a
# minimal Debian bookworm made by debootstrap and imported into Docker, plus Debian's
# Python 3.11 (with venv) resp. Node.js and npm installed by apt in a `docker build`.
# Then build the platform with
#   docker build -f deploy/Dockerfile \
#     --build-arg PYTHON_IMAGE=campus-safety/base-python:bookworm \
#     --build-arg NODE_IMAGE=campus-safety/base-node:bookworm -t campus-safety:local .
# Where a registry is reachable, use the pinned defaults instead (python:3.11.11-slim-
# bookworm, node:20.18.1-bookworm-slim): these stand-ins are not pinned, only bookworm.
# Run as root (debootstrap); MIRROR overrides the Debian mirror. Takes about 5 minutes.
set -eu
MIRROR=${MIRROR:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { apt-get update && apt-get install -y debootstrap; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$MIRROR"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' \
    - campus-safety/base-debian:bookworm

# (apt inside a container, not debootstrap --include: npm's many packages fail to
# configure in debootstrap's second stage)
base() {  # base TAG PACKAGES…
    tag=$1
    shift
    printf '%s\n' 'FROM campus-safety/base-debian:bookworm' \
        "RUN apt-get update && apt-get install -y --no-install-recommends $* \\" \
        '    && apt-get clean && rm -rf /var/lib/apt/lists/*' | docker build -q -t "$tag" -
}
base campus-safety/base-python:bookworm python3 python3-venv
base campus-safety/base-node:bookworm nodejs npm
docker images 'campus-safety/base-*'
