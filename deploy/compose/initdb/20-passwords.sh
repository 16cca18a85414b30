#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume,
# after 10-roles.sql made the roles: each role gets its password from its
# Compose secret. psql reads the file itself (\set with backquotes), so the
# password is in no command line; a PostgreSQL log line would show it only if
# the statement failed.
for role in gateway automation intelligence toast embedding sync; do
    file=/run/secrets/db_password_$role
    if [ ! -s "$file" ]; then
        echo "20-passwords.sh: missing secret $file (run deploy/compose/secrets.sh)" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL || exit 1
\set pw \`cat $file\`
ALTER ROLE brain_$role PASSWORD :'pw';
SQL
done
