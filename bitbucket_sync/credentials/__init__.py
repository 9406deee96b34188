"""Bitbucket credentials: checked against Bitbucket, encrypted at rest, write-only, one active per user and site.

Modules (the model is ``bitbucket_sync.models.Credential``; which URLs a credential may name is ``sites``):

* ``checks``: ask Bitbucket what a credential can do (``check_credential``, ``CheckResult``), writing nothing.
* ``lifecycle``: add or replace a user's credential, check it again, revoke it, pick one to sync a workspace; each an
  audit event.
* ``rotation``: re-encrypt every stored secret under the newest key.
* ``encryption``: the cipher for secrets at rest and the checks that refuse to start without a usable key.

Nothing is imported here: the models import ``encryption``, and the services import the models.
"""
