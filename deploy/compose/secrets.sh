#!/usr/bin/env bash
# deploy/compose/secrets.sh: make the secrets docker-compose.yml reads, once.
# Each is a random value in deploy/compose/secrets/<name>; existing files are
# kept (so rerunning changes nothing). Put your OpenAI key in
# secrets/openai_api_key, or export OPENAI_API_KEY before the first run.
#
# The directory is private (700) and the files in it world-readable (644):
# Compose bind-mounts each file into the containers, whose users (postgres,
# uid 10001) are not you, while on this host only you can reach the directory.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/secrets
mkdir -p "$dir"
chmod 700 "$dir"

random_hex() { od -An -vtx1 -N32 /dev/urandom | tr -d ' \n'; }
# A Fernet key: 32 random bytes, URL-safe base64.
fernet_key() { head -c 32 /dev/urandom | base64 | tr '+/' '-_'; }

# put NAME VALUE: write the secret unless it exists.
put() {
    [[ -s $dir/$1 ]] && return 0
    printf '%s\n' "$2" >"$dir/$1.tmp"
    chmod 644 "$dir/$1.tmp"
    mv -f "$dir/$1.tmp" "$dir/$1"
    printf 'secrets.sh: made %s\n' "$1"
}

put postgres_password "$(random_hex)"
put internal_token "$(random_hex)"
put jwt_secret "$(random_hex)"
put encryption_keys "$(fernet_key)"
if [[ -n ${OPENAI_API_KEY:-} ]]; then
    put openai_api_key "$OPENAI_API_KEY"
elif [[ ! -s $dir/openai_api_key ]]; then
    put openai_api_key "unset"
    printf 'secrets.sh: put your OpenAI API key in %s\n' "$dir/openai_api_key"
fi

# One database role per daemon (deploy/postgres/roles.sql): its password, for
# PostgreSQL's first start, and the URL the daemon connects with.
for role in gateway automation intelligence toast embedding sync; do
    put "db_password_$role" "$(random_hex)"
    pw=$(head -n 1 "$dir/db_password_$role")
    put "database_url_$role" "postgresql://brain_$role:$pw@postgres:5432/brain"
done
