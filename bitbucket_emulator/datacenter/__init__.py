"""Bitbucket Data Center's REST API (`<context>/rest/api/1.0` and `/rest/api/latest`) over the world's Data Center
site (world/datacenter.py)."""
