"""Building blocks shared by the fileserver plans: gateway calls, admin auth, polling."""

from __future__ import annotations

from jmeter import jmx
from jmeter.jmx import Node

ADMIN = jmx.headers("admin token", [("Authorization", "Bearer ${__P(token,)}")])
BAD_TOKEN = jmx.headers("wrong token", [("Authorization", "Bearer wrong-${__UUID()}")])
EMULATOR = jmx.Target("${__P(emulator_protocol,http)}", "${__P(emulator_host,127.0.0.1)}",
                      "${__P(emulator_port,19070)}")
ID = '"id":\\s*"([^"]+)"'
# A service-account key is a flat JSON object holding "private_key", wrapped or not.
# While polling, any HTTP answer is fine (a transport error is not).
ANY_HTTP_STATUS = jmx.expect("any HTTP status", ["[1-5][0-9][0-9]"], "response_code", jmx.MATCH,
                             ignore_status=True)
KEY = '(?s)(\\{[^{}]*"private_key"[^{}]*\\})'


def fn(name: str, rest: str = "") -> str:
    """The gateway path of function ``name`` (``rest`` is what the function sees)."""
    return f"/function/{name}{rest}"


def defaults() -> Node:
    return jmx.http_defaults("${__P(gateway_protocol,http)}", "${__P(gateway_host,127.0.0.1)}",
                             "${__P(gateway_port,8080)}", "${__P(timeout_ms,30000)}")


def admin(name: str, method: str, path: str, *children: Node, **kwargs: object) -> Node:
    """An admin call: the sampler carries the admin token."""
    return jmx.http(name, method, path, ADMIN, *children, **kwargs)  # type: ignore[arg-type]


def unauthorized(name: str, method: str, path: str, body: str | None = None) -> Node:
    """The call with a wrong token answers 401."""
    return jmx.http(name, method, path, BAD_TOKEN, jmx.expect_status("401"), body=body)


def status_is(code: str, *patterns: str) -> list[Node]:
    """Assert the status code and that the body matches every regex in ``patterns``."""
    checks = [jmx.expect_status(code)]
    checks += [jmx.expect(f"body has {p}", [p]) for p in patterns]
    return checks


def poll(name: str, path: str, done_regex: str, seconds: str = "${__P(wait_s,120)}",
         on_code: bool = False, admin_call: bool = False) -> Node:
    """Repeat GET ``path`` every 500 ms until its body (or status) matches ``done_regex``.

    A Regular Expression Extractor sets the loop variable to ``false`` on a match (its
    template has no group); the While condition (``__jexl2``, in 2.13 and 5.x) also stops
    after ``seconds``, counted from the first attempt (``__time`` stores its start).
    A last sampler named ``name`` asserts the final state, so a timeout fails the plan.
    """
    var = "poll_" + "".join(c if c.isalnum() else "_" for c in name)
    auth = [ADMIN] if admin_call else []

    def attempt(*extra: Node) -> Node:
        extractor = jmx.extract(var, done_regex, default="true", template="false")
        if on_code:
            extractor.element.find("stringProp[@name='RegexExtractor.useHeaders']").text = "code"
        return jmx.http(f"{name} (poll)", "GET", path, *auth, *extra, extractor, ANY_HTTP_STATUS)

    started = jmx.headers("poll start", [("X-Poll-Started", f"${{__time(,{var}_start)}}")])
    condition = (f'${{__jexl2("${{{var}}}" != "false" && '
                 f"${{__time()}} - ${{{var}_start}} < {seconds}000)}}")
    waiting = jmx.while_loop(f"until {name}", condition, attempt(jmx.pause("500")))
    final = jmx.http(name, "GET", path, *auth, *(
        [jmx.expect_status(done_regex)] if on_code else status_is("200", done_regex)))
    return jmx.transaction(name, attempt(started), waiting, final)
