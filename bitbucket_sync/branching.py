"""The repository's branching model, as branch creation offers it: the enabled prefixes and the development branch.

Read live with the user's own credential (``effective-branching-model``: readable with read access, and it includes
a model inherited from the project) and cached per credential for a few minutes: an admin changes it rarely, so one
request serves every branch a person creates in that time, and the mirror need not spend a request per repository on
every sync for a page few people open. When it cannot be read, the usual four prefixes and the main branch are
offered, and the page says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from bitbucket_sync.actions.branches import BRANCH_PREFIXES
from bitbucket_sync.browse import LiveReadError, live_reader
from bitbucket_sync.client import BitbucketError, UnsafePath
from bitbucket_sync.client.records import BranchingModel
from bitbucket_sync.models import Credential, Repository

MODEL_SECONDS = 600


@dataclass(frozen=True)
class BranchOptions:
    """What the new-branch form offers: prefixes (with their kind), the default source, and where they came from."""

    prefixes: tuple[tuple[str, str], ...]  # (prefix, kind)
    development: str
    from_model: bool
    problem: str = ""


def fallback(repository: Repository, problem: str) -> BranchOptions:
    return BranchOptions(
        prefixes=tuple((p, p.rstrip("/")) for p in BRANCH_PREFIXES),
        development=repository.main_branch,
        from_model=False,
        problem=problem,
    )


def _key(credential: Credential, repository: Repository) -> str:
    # The credential's own entry: another credential may not read this repository's model.
    return f"bbdash:branching-model:{credential.pk}:{repository.bitbucket_uuid}"


def branch_options(*, credential: Credential | None, repository: Repository) -> BranchOptions:
    """The effective model's enabled prefixes and development branch (a development branch that does not exist
    falls back to the main branch), else the fixed prefixes with the reason."""
    model = cache.get(_key(credential, repository)) if credential is not None else None
    if model is None:
        try:
            with live_reader(credential) as reader:
                model = reader.client.get_effective_branching_model(repository.workspace.key, repository.slug)
        except LiveReadError as exc:
            return fallback(repository, f"The repository's branching model could not be read ({exc}).")
        except (BitbucketError, UnsafePath):
            return fallback(repository, "The repository's branching model could not be read.")
        assert credential is not None  # live_reader refuses a missing one
        cache.set(_key(credential, repository), model, MODEL_SECONDS)
    return _options(repository, model)


def cached_branch_options(*, credential: Credential | None, repository: Repository) -> BranchOptions | None:
    """The options if this credential read the model recently, without a request; else None."""
    model = cache.get(_key(credential, repository)) if credential is not None else None
    return _options(repository, model) if model is not None else None


def _options(repository: Repository, model: BranchingModel) -> BranchOptions:
    development = model.development if model.development and model.development_exists else repository.main_branch
    prefixes = tuple((prefix, kind) for kind, prefix in model.branch_types if prefix)
    return BranchOptions(prefixes=prefixes, development=development, from_model=True)
