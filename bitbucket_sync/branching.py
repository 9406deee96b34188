"""The repository's branching model, as branch creation offers it: the enabled prefixes and the development branch.

Read live with the user's own credential (``effective-branching-model``: readable with read access, and it includes
a model inherited from the project) and cached per credential for a few minutes: an admin changes it rarely, so one
request serves every branch a person creates in that time, and the mirror need not spend a request per repository on
every sync for a page few people open. When it cannot be read, the usual four prefixes and the main branch are
offered, and the page says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitbucket_sync.actions.branches import BRANCH_PREFIXES
from bitbucket_sync.browse import LiveReadError, live_reader
from bitbucket_sync.client import BitbucketError, UnsafePath
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


def branch_options(*, credential: Credential | None, repository: Repository) -> BranchOptions:
    """The effective model's enabled prefixes and development branch (a development branch that does not exist
    falls back to the main branch), else the fixed prefixes with the reason."""
    try:
        with live_reader(credential) as reader:
            key = reader.key("branching-model", repository.bitbucket_uuid)
            model = reader.cached(
                key,
                MODEL_SECONDS,
                lambda: reader.client.get_effective_branching_model(repository.workspace.slug, repository.slug),
            )
    except LiveReadError as exc:
        return fallback(repository, f"The repository's branching model could not be read ({exc}).")
    except (BitbucketError, UnsafePath):
        return fallback(repository, "The repository's branching model could not be read.")
    development = model.development if model.development and model.development_exists else repository.main_branch
    prefixes = tuple((prefix, kind) for kind, prefix in model.branch_types if prefix)
    return BranchOptions(prefixes=prefixes, development=development, from_model=True)
