"""Submitting tasks to the PostgreSQL queues that workers serve, from any process."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, TypedDict, Union

from . import _tasker_core as _native
from .errors import ConversionError
from .types import TaskResult

__all__ = ["Client", "SubmittedTask"]

TemplateLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class SubmittedTask(TypedDict):
    """What :meth:`Client.submit_task` returns."""

    task_uuid: str
    correlation_id: str
    #: The task's one trace: every step's spans, in every worker and language, join it.
    trace_id: Optional[str]


class Client:
    """A connection to the task database that distributed workers serve.

    Connects when made and checks that the database is migrated, so a wrong URL fails
    here, not at the first submit. Safe to share between threads; after ``os.fork`` the
    child makes its own connections on first use.

    :param database_url: a libpq URL; None reads ``TASKER_DATABASE_URL``, then ``DATABASE_URL``
    :raises ConfigurationError: when no database is configured or the URL is invalid
    :raises DatabaseError: when the database cannot be reached or is not migrated (run
        ``tasker-worker-rust migrate``)
    """

    def __init__(self, database_url: Optional[str] = None) -> None:
        if database_url is not None and not isinstance(database_url, str):
            raise TypeError(f"database_url must be a str or None, got {type(database_url).__name__}")
        self._native = _native.Client.connect(database_url)

    @property
    def database_url(self) -> str:
        """The database's URL, its password replaced by ``***``."""
        return str(self._native.database_url)

    def submit_task(self, template: TemplateLike, context: Optional[Mapping[str, Any]] = None) -> SubmittedTask:
        """Submits a task: its first steps go to their queues at once, in one transaction
        with the task, under the task's root span, which every step's span joins.

        :raises TemplateError: for an invalid template
        :raises DatabaseError: when a step's queue is one no worker serves and nobody declared
        """
        if isinstance(template, os.PathLike):
            template = os.fspath(template)
        if context is not None and not isinstance(context, Mapping):
            raise ConversionError(f"context must be a dict (a JSON object), got {type(context).__name__}")
        out: SubmittedTask = self._native.submit(template, dict(context or {}))
        return out

    def task_status(self, task_uuid: str) -> TaskResult:
        """The task's result so far; ``status`` is ``"running"`` until it ends.

        :raises DatabaseError: for a task this database does not hold
        """
        return TaskResult._from_native(self._native.status(str(task_uuid)))

    def wait_task(self, task_uuid: str, timeout: Optional[float] = 30.0) -> TaskResult:
        """Waits, with the GIL released, until the task ends, and returns its result.

        :param timeout: seconds to wait; None waits as long as it takes
        :raises TaskTimeoutError: when the task is still running after ``timeout``
        """
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
            raise TypeError(f"timeout must be a number of seconds or None, got {type(timeout).__name__}")
        raw = self._native.wait(str(task_uuid), None if timeout is None else float(timeout))
        return TaskResult._from_native(raw)

    def __repr__(self) -> str:
        return f"Client({self.database_url!r})"
