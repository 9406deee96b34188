"""Everything that knows Bitbucket: the mirror's models, the API client, sync, actions and tasks."""
