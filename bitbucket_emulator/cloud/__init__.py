"""Bitbucket Cloud's REST API 2.0 over the world: the WSGI app and its routes (`app`), the handlers (`views_*`),
Bitbucket's JSON shapes (`serialize`), pagination, `fields=` and BBQL (`query`), credentials and visibility
(`auth`), avatar pictures (`avatars`)."""
