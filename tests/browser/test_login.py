import pytest
from django.contrib.auth import get_user_model


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_member_signs_in_and_sees_home(page, live_server, login, screenshot):
    get_user_model().objects.create_user("bob", password="demo")
    login("bob")
    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")
    assert screenshot("home").stat().st_size > 0
