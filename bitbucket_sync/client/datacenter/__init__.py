"""The Bitbucket Data Center client: ``DataCenterClient`` behind the same seam, records and errors as the Cloud
client (``bitbucket_sync.client``). Modules: ``http`` (errors envelope, ``start``/``nextPageStart`` pages,
accounting), ``convert`` (Data Center JSON to the records), ``client`` (``DataCenterClient``)."""

from .client import DataCenterAuth, DataCenterClient
from .http import server_root

__all__ = ["DataCenterAuth", "DataCenterClient", "server_root"]
