"""Creates the PostgreSQL database named by DATABASE_URL when it does not exist yet."""

import os
import sys

import environ
import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/databounty"


def main() -> int:
    environ.Env.read_env(".env", overwrite=False)
    config = environ.Env.db_url_config(os.environ.get("DATABASE_URL", DEFAULT_URL))
    name = config["NAME"]
    with psycopg.connect(
        host=config.get("HOST") or "127.0.0.1",
        port=int(config.get("PORT") or 5432),
        user=config.get("USER") or "postgres",
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"[setup] created database {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
