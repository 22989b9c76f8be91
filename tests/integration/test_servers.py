"""The embedded servers start from empty directories, answer, and stop with no process left."""

from __future__ import annotations

import asyncio

import nats
import psycopg2
from pymongo import MongoClient

from devstack.process import pid_alive


def test_postgres_accepts_tcp_and_persists(postgres_server):
    conn = psycopg2.connect(postgres_server.dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS probe (n int)")
        cur.execute("INSERT INTO probe VALUES (41)")
        cur.execute("SELECT max(n) + 1 FROM probe")
        assert cur.fetchone()[0] == 42
    conn.close()


def test_nats_has_jetstream(nats_server):
    async def roundtrip() -> bytes:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream(name="PROBE", subjects=["probe.>"])
        await js.publish("probe.x", b"hello")
        sub = await js.pull_subscribe("probe.x", durable="probe")
        [msg] = await sub.fetch(1, timeout=2)
        await msg.ack()
        await nc.drain()
        return msg.data

    assert asyncio.run(roundtrip()) == b"hello"


def test_mongo_wire_server_stores_documents(mongo_server):
    client = MongoClient(mongo_server.url)
    client.probe.docs.insert_one({"_id": "a", "n": 1})
    client.probe.docs.update_one({"_id": "a"}, {"$inc": {"n": 1}})
    assert client.probe.docs.find_one({"_id": "a"})["n"] == 2
    client.close()


def test_stop_leaves_no_process(tmp_path):
    from devstack.nats import NatsServer
    from devstack.process import free_port

    server = NatsServer(tmp_path / "d", free_port(), free_port(), tmp_path / "log")
    server.start()
    pid = server.pid
    assert pid and pid_alive(pid)
    server.stop()
    assert not pid_alive(pid)
