#!/bin/sh
# Creates the cas system user and group before the files (owned by group cas) are unpacked.
set -e
if ! getent group cas >/dev/null; then groupadd --system cas; fi
if ! getent passwd cas >/dev/null; then
  useradd --system --gid cas --home-dir /var/lib/cas --no-create-home --shell /usr/sbin/nologin cas
fi
if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
