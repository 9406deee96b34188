"""Long listings append paths to a prefix reversed once; the result must be the URL `reverse` would have built."""

import pytest
from django.urls import reverse

from dashboard.templatetags.links import url_path


@pytest.mark.parametrize("path", ["src/a b.py", "docs/#notes?.md", "100%/x", "dir/ü.txt", "a;b,c=d/e+f", "x/~y@z:1"])
def test_url_path_appended_to_a_prefix_matches_reverse(path):
    prefix = reverse("source_detail", args=["acme", "api-server", "main/"])
    assert prefix + url_path(path) == reverse("source_detail", args=["acme", "api-server", f"main/{path}"])
