"""``tasker_core.Client`` and ``Worker.serve`` refuse what cannot work, with the cure in the
message and never a password. (Submitting, waiting and serving against a real PostgreSQL are
tests/polyglot.rs, which runs this wheel's worker beside Ruby's and Rust's.)"""

from __future__ import annotations

import pytest

import tasker_core


def test_a_client_without_a_database_url_says_which_settings_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TASKER_DATABASE_URL", raising=False)
    with pytest.raises(tasker_core.ConfigurationError) as info:
        tasker_core.Client()
    assert str(info.value) == (
        "invalid worker configuration: no database configured: pass database_url, or set "
        "TASKER_DATABASE_URL or DATABASE_URL (e.g. postgres://tasker@localhost:5432/tasker)"
    )
    assert isinstance(info.value, ValueError)


def test_an_unreachable_database_is_a_database_error_without_the_password() -> None:
    with pytest.raises(tasker_core.DatabaseError) as info:
        tasker_core.Client(database_url="postgres://tasker:s3cr3t@127.0.0.1:1/tasker")
    message = str(info.value)
    assert message.startswith("cannot reach the database at postgres://tasker:***@127.0.0.1:1/tasker: "), message
    assert "s3cr3t" not in message
    assert isinstance(info.value, tasker_core.TaskerError)


def test_a_url_that_is_not_a_postgres_url_is_a_configuration_error() -> None:
    with pytest.raises(tasker_core.ConfigurationError, match="is not valid"):
        tasker_core.Client(database_url="mysql://nope")


def test_bad_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="^database_url must be a str or None, got int$"):
        tasker_core.Client(database_url=5)  # type: ignore[arg-type]


def test_serving_a_worker_bootstrapped_without_queues_says_what_is_missing() -> None:
    worker = tasker_core.bootstrap_worker(concurrency=1)
    try:
        with pytest.raises(tasker_core.ConfigurationError) as info:
            worker.serve()
        assert str(info.value) == (
            "invalid worker configuration: serve needs at least one queue: bootstrap the worker with queues"
        )
    finally:
        worker.stop()


def test_queues_must_be_a_list_of_names() -> None:
    with pytest.raises(tasker_core.ConfigurationError, match="^queues must be a list of queue names, got str$"):
        tasker_core.bootstrap_worker(queues="alpha")  # type: ignore[arg-type]
