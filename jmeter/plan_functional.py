"""The functional plan: one named step per requirement of the seed (R01..R19), in order of
the flows (accounts → uploads → replication → downloads → reports → consistency).

Sampler names start with the requirement they evidence, so the summary reads as a checklist.
"""

from __future__ import annotations

from jmeter import jmx
from jmeter.jmx import Node
from jmeter.steps import EMULATOR, ID, KEY, admin, defaults, fn, poll, status_is, unauthorized

RUN = "${__P(run_id,jm)}"
STATUS = '"status":\\s*"{}"'
NO_KEY = jmx.expect("never returns the Drive key", ["private_key"],
                    test_type=jmx.CONTAINS | jmx.NOT)
NO_REFRESH_TOKEN = jmx.expect("never returns the refresh token", ["refresh_token"],
                              test_type=jmx.CONTAINS | jmx.NOT)
USER_KEY = '(?s)(\\{[^{}]*"refresh_token"[^{}]*\\})'
FUNCTIONS = ("upload-file", "files", "drive-accounts", "get-url", "download", "file-stats",
             "account-stats", "stats-summary", "stats-compute")


def register_account(label: str, var: str, kind: str = "service_account") -> list[Node]:
    """A key from the Drive emulator, then ``POST drive-accounts`` with it (→ 201 of that
    kind): a service account from before the 2025 cutoff (it owns files), or
    ``authorized_user``, an OAuth user whose e-mail address the Uploader reads from Drive."""
    if kind == "authorized_user":
        key = jmx.http(f"R06 emulator OAuth user for {label}", "POST", "/_emulator/accounts",
                       jmx.expect("an authorized_user key", ['"refresh_token"']),
                       jmx.extract(f"{var}_key", USER_KEY), target=EMULATOR,
                       body='{"kind": "user"}')
    else:
        key = jmx.http(f"R06 emulator key for {label}", "POST", "/_emulator/accounts",
                       jmx.expect("a service-account key", ['"private_key"']),
                       jmx.extract(f"{var}_key", KEY), target=EMULATOR,
                       body=f'{{"name": "jm-{RUN}-{label}", "legacy": true}}')
    named = "" if kind == "service_account" else f"{kind} "
    create = admin(f"R06 create {named}account {label}", "POST", fn("drive-accounts", "/"),
                   *status_is("201", '"email"', '"state":\\s*"active"',
                              f'"kind":\\s*"{kind}"'), NO_KEY, NO_REFRESH_TOKEN,
                   jmx.extract(var, ID),
                   body=f'{{"name": "jm-{RUN}-{label}", "key": ${{{var}_key}}}}')
    return [key, create]


def accounts_crud() -> Node:
    path = fn("drive-accounts", "/${acc1}")
    return jmx.transaction(
        "R06 Drive accounts CRUD",
        *register_account("a1", "acc1"), *register_account("a2", "acc2", "authorized_user"),
        admin("R06 list accounts", "GET", fn("drive-accounts", "/?limit=50&offset=0"),
              *status_is("200", '"items"', '"total"', "${acc1}", "${acc2}"), NO_KEY),
        admin("R06 read account", "GET", path, *status_is("200", "${acc1}"), NO_KEY),
        admin("R06 rename account", "PATCH", path, *status_is("200", f"renamed-{RUN}"),
              body=f'{{"name": "renamed-{RUN}"}}'),
        admin("R06 reject negative limit (400)", "PATCH", path, *status_is("400", '"error"'),
              body='{"daily_limit_bytes": -5}'),
        admin("R06 reject empty account (400)", "POST", fn("drive-accounts", "/"),
              *status_is("400", '"error"'), body='{"name": ""}'),
        admin("R06 reject duplicate key (409)", "POST", fn("drive-accounts", "/"),
              *status_is("409", '"error"'), body=f'{{"name": "dup-{RUN}", "key": ${{acc1_key}}}}'),
        admin("R06 unknown account (404)", "GET", fn("drive-accounts", "/no-such-account-0"),
              *status_is("404", '"error"')),
        unauthorized("R06 accounts need the admin token (401)", "GET", fn("drive-accounts", "/")),
    )


def upload(size: str) -> Node:
    """R08: the upload answers at once with status ``replicating``."""
    return admin(f"R08 upload {size} file", "POST", fn("upload-file", "/"),
                 *status_is("202", STATUS.format("replicating"), '"size"'),
                 jmx.extract(f"file_{size}", ID), upload=f"${{__P(file_{size})}}")


def files_crud() -> Node:
    path = fn("files", "/${file_small}")
    return jmx.transaction(
        "R07 files CRUD and R08 immediate replicating",
        upload("small"), upload("medium"), upload("large"),
        unauthorized("R07 upload needs the admin token (401)", "POST", fn("upload-file", "/"),
                     body="{}"),
        admin("R07 upload without a file (400)", "POST", fn("upload-file", "/"),
              *status_is("400", '"error"'), body=""),
        jmx.if_true("R07 only when a size limit is set", "${__P(check_413,false)}",
                    admin("R07 upload over the size limit (413)", "POST", fn("upload-file", "/"),
                          *status_is("413", '"error"'), upload="${__P(file_too_big)}")),
        jmx.http("R02 R07 read file document", "GET", path,
                 *status_is("200", "${file_small}", '"md5"', '"sha256"', '"replicas"')),
        jmx.http("R07 list files", "GET", fn("files", "/?limit=100&offset=0"),
                 *status_is("200", '"items"', "${file_large}")),
        jmx.http("R07 bad paging (400)", "GET", fn("files", "/?limit=abc"),
                 *status_is("400", '"error"')),
        jmx.http("R07 unknown file (404)", "GET", fn("files", "/no-such-file-0"),
                 *status_is("404", '"error"')),
        admin("R07 rename file", "PATCH", path, *status_is("200", f"renamed-{RUN}.bin"),
              body=f'{{"name": "renamed-{RUN}.bin"}}'),
        admin("R07 reject empty name (400)", "PATCH", path, *status_is("400", '"error"'),
              body='{"name": ""}'),
        unauthorized("R07 rename needs the admin token (401)", "PATCH", path,
                     body='{"name": "x"}'),
    )


def replication() -> Node:
    """R14/R09: the queue uploads every file to every account; then status ``uploaded``."""
    steps: list[Node] = []
    for size in ("small", "medium", "large"):
        path = fn("files", f"/${{file_{size}}}")
        steps.append(poll(f"R14 queue replicates {size} file", path, STATUS.format("uploaded")))
        steps.append(jmx.http(f"R09 {size} file uploaded to every account", "GET", path,
                              *status_is("200", STATUS.format("uploaded"), "${acc1}", "${acc2}")))
    steps.append(admin("R03 R15 downloader's replica rows", "GET",
                       fn("downloader-sync", "/replicas?file_id=${file_small}"),
                       *status_is("200", "${acc1}", "${acc2}", '"url"')))
    return jmx.transaction("R09 R14 R15 replication", *steps)


def get_url(label: str, var: str, *checks: Node) -> Node:
    return jmx.http(label, "GET", fn("get-url", "/?id=${file_small}"),
                    *status_is("200", '"url"', "${file_small}"),
                    jmx.extract(var, '"account_id":\\s*"([^"]+)"'), *checks)


def other_account(previous: str) -> Node:
    return jmx.expect(f"not the same account as {previous}",
                      [f'"account_id":\\s*"${{{previous}}}"'], test_type=jmx.CONTAINS | jmx.NOT)


def redirector(label: str, method: str) -> Node:
    """The download redirector: 302 to a Drive link, the other holder as a duplicate."""
    return jmx.http(label, method, fn("download", "/${file_small}/small.bin"),
                    jmx.expect_status("302"),
                    jmx.expect("Location is a Drive link", ["Location: http"],
                               "response_headers"),
                    jmx.expect("the other holder as Link rel=duplicate",
                               ["Link: <http[^>]+>; rel=duplicate; pri=2"], "response_headers"),
                    jmx.expect("the sha-256 as Repr-Digest", ["Repr-Digest: sha-256=:"],
                               "response_headers"))


def downloads() -> Node:
    """R10/R11: download URLs rotate over the accounts; R16: each one is counted by Stats
    (4 get-url calls and 1 redirector GET; the HEAD books nothing)."""
    return jmx.transaction(
        "R10 R11 download URLs",
        get_url("R10 download URL", "u1"),
        get_url("R11 next URL uses the other account", "u2", other_account("u1")),
        get_url("R11 and back again", "u3", other_account("u2")),
        get_url("R11 sequential rotation continues", "u4", other_account("u3")),
        redirector("R10 download redirector (302, Location, Link)", "GET"),
        redirector("R10 redirector HEAD books nothing", "HEAD"),
        jmx.http("R10 redirector of unknown file (404)", "GET",
                 fn("download", "/no-such-file-0/x.bin"), *status_is("404", '"error"')),
        jmx.http("R10 URL of unknown file (404)", "GET", fn("get-url", "/?id=no-such-file-0"),
                 *status_is("404", '"error"')),
        jmx.http("R10 URL without id (400)", "GET", fn("get-url", "/"),
                 *status_is("400", '"error"')),
    )


def reports() -> Node:
    """R12/R13/R16: precomputed reports count the 5 downloads exactly once each."""
    one_file = fn("file-stats", "/${file_small}")
    return jmx.transaction(
        "R12 R13 R16 reports",
        poll("R16 stats counted the downloads", one_file, '"downloads":\\s*5\\b'),
        jmx.http("R12 file report", "GET", one_file,
                 *status_is("200", '"downloads":\\s*5\\b', '"mb_today"', '"mb_total"')),
        jmx.http("R12 report of all files", "GET", fn("file-stats", "/?limit=100"),
                 *status_is("200", "${file_small}")),
        jmx.http("R12 unknown file report (404)", "GET", fn("file-stats", "/no-such-file-0"),
                 *status_is("404", '"error"')),
        jmx.http("R13 account report", "GET", fn("account-stats", "/${u1}"),
                 *status_is("200", '"downloads":\\s*[1-9]', '"mb_today"', '"mb_total"')),
        jmx.http("R13 report of all accounts", "GET", fn("account-stats", "/"),
                 *status_is("200", "${acc1}", "${acc2}")),
        jmx.http("R04 Stats derived figures", "GET", fn("stats-summary", "/"),
                 *status_is("200")),
        jmx.http("R04 Stats rejects bad events (400)", "POST", fn("stats-compute", "/"),
                 *status_is("400", '"error"'), body='{"events": "nope"}'),
    )


def consistency() -> Node:
    """R15/R17: a new account gets every file; a deleted file stops being served."""
    medium = "${file_medium}"
    return jmx.transaction(
        "R15 R17 consistency",
        poll("R05 rename reaches the Downloader over HTTP", fn("get-url", "/?id=${file_small}"),
             f"renamed-{RUN}\\.bin"),
        *register_account("a3", "acc3"),
        poll("R17 new account receives the files", fn("files", "/${file_small}"), "${acc3}"),
        admin("R15 downloader has the new account's replica", "GET",
              fn("downloader-sync", "/replicas?account_id=${acc3}"),
              *status_is("200", "${file_small}")),
        admin("R07 delete file", "DELETE", fn("files", f"/{medium}"),
              *status_is("202", STATUS.format("deleting"))),
        poll("R17 deleted file is no longer served", fn("get-url", f"/?id={medium}"), "404",
             on_code=True),
        jmx.http("R15 URL of a deleted file (404)", "GET", fn("get-url", f"/?id={medium}"),
                 *status_is("404", '"error"')),
        poll("R17 deleted file leaves the Uploader", fn("files", f"/{medium}"), "404",
             on_code=True),
        jmx.http("R07 deleted file is gone (404)", "GET", fn("files", f"/{medium}"),
                 *status_is("404")),
    )


def health_and_metrics() -> Node:
    """R01: every function of the three services answers; R18: each exports fileserver_ metrics."""
    steps: list[Node] = []
    for name in FUNCTIONS:
        steps.append(jmx.http(f"R01 {name} is up", "GET", fn(name, "/_/health"),
                              *status_is("200")))
        steps.append(jmx.http(f"R18 {name} metrics", "GET", fn(name, "/_/metrics"),
                              *status_is("200", "fileserver_")))
    return jmx.transaction("R01 R18 services and metrics", *steps)


def cleanup() -> Node:
    """Delete what this run created so that the next run (RUNS=N) starts from the same state."""
    deletes = [admin(f"R07 delete {size} file", "DELETE", fn("files", f"/${{file_{size}}}"),
                     *status_is("202")) for size in ("small", "large")]
    deletes += [admin(f"R06 delete account {acc}", "DELETE", fn("drive-accounts", f"/${{{acc}}}"),
                      *status_is("202", '"state":\\s*"removing"'))
                for acc in ("acc1", "acc2", "acc3")]
    deletes.append(poll("R15 removed account leaves the downloader",
                        fn("downloader-sync", "/replicas?account_id=${acc3}"),
                        '"items":\\s*\\[\\s*\\]', admin_call=True))
    deletes.append(admin("R15 no replicas on a removed account", "GET",
                         fn("downloader-sync", "/replicas?account_id=${acc3}"),
                         *status_is("200", '"items":\\s*\\[\\s*\\]')))
    return jmx.transaction("R06 R07 cleanup", *deletes)


def functional_plan() -> Node:
    """R19: the whole plan; one thread, once (the runner repeats it N times)."""
    return jmx.test_plan(
        "fileserver functional (requirements 1-19)", [],
        jmx.thread_group("R19 functional checks", "1", "0", "1", defaults(), health_and_metrics(),
                         accounts_crud(), files_crud(), replication(), downloads(), reports(),
                         consistency(), cleanup()),
    )
