"""A ``requests.Session`` that answers from a list, for the unit tests of HTTP clients."""

from __future__ import annotations

import requests


class FakeResponse:
    """An answer: ``json()`` returns ``body``, or raises it when it is an exception."""

    def __init__(self, status: int, body: object = None) -> None:
        self.status_code = status
        self._body = {} if body is None else body
        self.text = str(body)

    def json(self) -> object:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class FakeSession(requests.Session):
    """Answers each request with the next of ``answers`` (an exception is raised) and keeps
    what was sent in ``sent`` as ``(method, url, kwargs)``."""

    def __init__(self, answers: list) -> None:
        super().__init__()
        self.answers = answers
        self.sent: list[tuple] = []

    def request(self, method, url, **kwargs):  # noqa: ANN001, ANN201
        self.sent.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
