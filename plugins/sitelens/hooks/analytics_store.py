"""The project's configuration and its Cassandra store, for tasks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from analytics.config import Config
    from analytics.sites import Site

_KEYSPACE = object()


class AnalyticsStoreHook(BaseHook):
    """Gives a task ``analytics.config.Config`` (from the ``ANALYTICS_*`` environment of the
    Airflow process; a test may pass its own) and Cassandra sessions built from it.

    There is no Airflow connection for Cassandra: contact points, port, data center and
    keyspace are part of the project's config, like for every other part of the system.

    ::

        hook = AnalyticsStoreHook()
        with hook.session() as session:          # bound to config.cassandra_keyspace
            sites = hook.sites(session, ["shop"])
    """

    hook_name = "Sitelens analytics store"

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self._config = config

    @property
    def config(self) -> Config:
        if self._config is None:
            from analytics.config import Config

            self._config = Config.from_env()
        return self._config

    @contextmanager
    def session(self, keyspace: str | None | object = _KEYSPACE) -> Iterator:
        """A Cassandra session, shut down afterwards. Bound to the configured keyspace
        unless ``keyspace`` says otherwise (``None``: no keyspace, e.g. to create it)."""
        from analytics.storage.session import connect

        name = self.config.cassandra_keyspace if keyspace is _KEYSPACE else keyspace
        cluster, session = connect(self.config, name)
        try:
            yield session
        finally:
            cluster.shutdown()

    def get_conn(self):
        """Not kept open: use :meth:`session` (a context manager) instead."""
        raise NotImplementedError("use AnalyticsStoreHook.session()")

    def sites(self, session, site_ids: Sequence[str] | None = None) -> list[Site]:
        """The chosen sites (all when ``site_ids`` is empty), sorted by id. An unknown id
        fails the task without retries: a typo in a trigger form does not heal."""
        from analytics.sites import SiteRepository, UnknownSitesError, choose_sites

        try:
            return choose_sites(SiteRepository(session).all(), list(site_ids or ()))
        except UnknownSitesError as error:
            raise AirflowFailException(str(error)) from None
