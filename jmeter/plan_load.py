"""The load plan: a mixed workload for ``${__P(duration)}`` seconds.

- setUp: registers ``${__P(accounts)}`` (at most 10) Drive accounts and uploads a seed
  file, waits until it is ``uploaded`` and publishes its id as the property ``seed_file``.
- readers (``${__P(threads)}`` threads, ``${__P(ramp)}`` s ramp-up): get-url heavy (6 of 10
  requests), plus file/account reports, the stats summary and file reads.
- writers (``${__P(writer_threads)}`` threads): upload small/medium/large files, rename one,
  read it, delete it (the CRUD path and the replication queue under load).
- tearDown: deletes the accounts it registered.
Every sampler must answer within ``${__P(max_ms)}`` ms (Duration Assertion).
"""

from __future__ import annotations

from jmeter import jmx
from jmeter.jmx import Node
from jmeter.plan_functional import STATUS, register_account
from jmeter.steps import ID, admin, defaults, fn, poll, status_is

RUN = "${__P(run_id,jm)}"
SEED = "${__P(seed_file)}"
WITHIN = jmx.max_duration("${__P(max_ms,5000)}")


MAX_ACCOUNTS = 10  # the load plan registers up to this many accounts (``accounts``)


def _special(group: Node, kind: str) -> Node:
    """Turn a Thread Group into a setUp (``Setup``) or tearDown (``Post``) group."""
    group.element.tag = f"{kind}ThreadGroup"
    group.element.set("testclass", f"{kind}ThreadGroup")
    group.element.set("guiclass", f"{kind}ThreadGroupGui")
    return group


def _account(number: int) -> Node:
    """Register account ``number`` when ``accounts`` asks for it; keep its id as a property."""
    var = f"acc{number}"
    keep = jmx.headers("keep id", [("X-Keep", f"${{__setProperty(load_{var},${{{var}}},)}}")])
    return jmx.if_true(
        f"account {number} wanted", f"${{__jexl2({number} <= ${{__P(accounts,3)}})}}",
        *register_account(str(number), var),
        admin(f"R06 read account {number}", "GET", fn("drive-accounts", f"/${{{var}}}"), keep,
              *status_is("200")))


def setup_group() -> Node:
    return _special(jmx.thread_group(
        "setUp: accounts and a seed file", "1", "0", "1", defaults(),
        *[_account(n) for n in range(1, MAX_ACCOUNTS + 1)],
        admin("upload seed file", "POST", fn("upload-file", "/"), *status_is("202"),
              jmx.extract("seed", ID), upload="${__P(file_small)}"),
        poll("seed file replicated", fn("files", "/${seed}"), STATUS.format("uploaded")),
        jmx.http("publish seed file", "GET", fn("files", "/${seed}"),
                 jmx.headers("publish", [("X-Seed", "${__setProperty(seed_file,${seed},)}")]),
                 *status_is("200", STATUS.format("uploaded"))),
    ), "Setup")


def teardown_group() -> Node:
    """Remove the accounts this run registered, so that RUNS=N starts alike each time."""
    deletes = [
        jmx.if_true(f"account {n} registered", f"${{__jexl2({n} <= ${{__P(accounts,3)}})}}",
                    admin(f"R06 delete account {n}", "DELETE",
                          fn("drive-accounts", f"/${{__P(load_acc{n},none)}}"),
                          *status_is("202")))
        for n in range(1, MAX_ACCOUNTS + 1)]
    return _special(jmx.thread_group("tearDown: remove accounts", "1", "0", "1", defaults(),
                                     *deletes), "Post")


def readers() -> Node:
    url = jmx.http("get-url", "GET", fn("get-url", f"/?id={SEED}"),
                   *status_is("200", '"url"'), WITHIN)
    return jmx.thread_group(
        "readers", "${__P(threads,50)}", "${__P(ramp,10)}", "-1", defaults(),
        jmx.loop("get-url x6", "6", url),
        jmx.http("file report", "GET", fn("file-stats", f"/{SEED}"), *status_is("200"), WITHIN),
        jmx.http("all files report", "GET", fn("file-stats", "/?limit=20"), *status_is("200"),
                 WITHIN),
        jmx.http("accounts report", "GET", fn("account-stats", "/"), *status_is("200"), WITHIN),
        jmx.http("stats summary", "GET", fn("stats-summary", "/"), *status_is("200"), WITHIN),
        duration="${__P(duration,60)}",
    )


def writers() -> Node:
    uploads = [admin(f"upload {size}", "POST", fn("upload-file", "/"),
                     *status_is("202", STATUS.format("replicating")), WITHIN,
                     jmx.extract("new_file", ID), upload=f"${{__P(file_{size})}}")
               for size in ("small", "medium", "large")]
    path = fn("files", "/${new_file}")
    return jmx.thread_group(
        "writers", "${__P(writer_threads,5)}", "${__P(ramp,10)}", "-1", defaults(), *uploads,
        admin("rename file", "PATCH", path, *status_is("200"), WITHIN,
              body=f'{{"name": "load-{RUN}-${{__counter(FALSE,)}}.bin"}}'),
        jmx.http("read file", "GET", path, *status_is("200"), WITHIN),
        jmx.http("list files", "GET", fn("files", "/?limit=20"), *status_is("200"), WITHIN),
        admin("delete file", "DELETE", path, *status_is("202"), WITHIN, jmx.pause("1000")),
        duration="${__P(duration,60)}",
    )


def load_plan() -> Node:
    return jmx.test_plan("fileserver load (mixed workload)", [],
                         setup_group(), readers(), writers(), teardown_group())
