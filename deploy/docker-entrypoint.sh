#!/bin/sh
# Secrets from files: every /run/secrets/whistle_* file (or $WHISTLE_SECRETS_DIR's) (Docker or Compose secrets) becomes
# the WHISTLE_* variable of its name, unless the environment already sets it. Keeps
# passwords and keys out of the image, the compose file and `docker inspect`.
set -eu
secrets_dir=${WHISTLE_SECRETS_DIR:-/run/secrets}
if [ -d "$secrets_dir" ]; then
  for file in "$secrets_dir"/whistle_*; do
    [ -f "$file" ] || continue
    name=$(basename "$file" | tr '[:lower:]' '[:upper:]')
    if [ -z "$(printenv "$name" || true)" ]; then
      export "$name=$(cat "$file")"
    fi
  done
fi
exec "$@"
