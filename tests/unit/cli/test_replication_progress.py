"""``--wait`` output stays short when a file goes to hundreds of accounts."""

from __future__ import annotations

from fileserver.cli.replication import _report_new_replicas


class Said:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, line: str) -> None:
        self.lines.append(line)


def doc(total: int, ready: int) -> dict:
    accounts = [{"account_id": f"a{i}", "state": "ready" if i < ready else "pending"}
                for i in range(total)]
    return {"name": "f.bin", "replicas": {"total": total, "accounts": accounts}}


def test_few_accounts_are_named_one_by_one() -> None:
    ctx, seen = Said(), set()
    _report_new_replicas(ctx, doc(3, 2), seen, {"a0": "zero@x"})  # type: ignore[arg-type]
    assert ctx.lines == ["  f.bin: copy on zero@x ready (1/3)", "  f.bin: copy on a1 ready (2/3)"]


def test_two_hundred_accounts_give_one_line_per_tenth() -> None:
    ctx, seen = Said(), set()
    for ready in range(0, 201, 7):  # polls that each see a few more copies
        _report_new_replicas(ctx, doc(200, ready), seen, {})  # type: ignore[arg-type]
    _report_new_replicas(ctx, doc(200, 200), seen, {})  # type: ignore[arg-type]
    assert len(ctx.lines) == 10
    assert ctx.lines[-1] == "  f.bin: copies ready on 200/200 accounts"
