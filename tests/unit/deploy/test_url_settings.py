"""Database URLs with passwords come from secrets on faasd; an env value still wins."""

from __future__ import annotations

from fileserver import config


def test_env_then_secret_then_local_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    for name in ("MONGO_URL", "POSTGRES_URL", "FILESERVER_MONGO_URL", "FILESERVER_POSTGRES_URL"):
        monkeypatch.delenv(name, raising=False)
    assert config.mongo_url() == "mongodb://127.0.0.1:27117"
    assert config.postgres_url().startswith("postgresql+psycopg2://postgres@127.0.0.1:15432/")

    (tmp_path / "mongo-url").write_text("mongodb://fileserver:pw@mongo:27017/?authSource=admin\n")
    (tmp_path / "postgres-url").write_text(
        "postgresql+psycopg2://fileserver:pw@postgres:5432/fileserver\n")
    assert config.mongo_url() == "mongodb://fileserver:pw@mongo:27017/?authSource=admin"
    assert config.postgres_url() == "postgresql+psycopg2://fileserver:pw@postgres:5432/fileserver"

    monkeypatch.setenv("MONGO_URL", "mongodb://127.0.0.1:1")
    monkeypatch.setenv("POSTGRES_URL", "postgresql+psycopg2://x@127.0.0.1:2/db")
    assert config.mongo_url() == "mongodb://127.0.0.1:1"
    assert config.postgres_url() == "postgresql+psycopg2://x@127.0.0.1:2/db"
