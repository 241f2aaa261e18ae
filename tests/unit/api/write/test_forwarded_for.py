"""Behind a proxy the client address is the right-most X-Forwarded-For entry."""

import pytest

from api.write.resources import forwarded_client


@pytest.mark.parametrize(("header", "client"), [
    ("193.0.6.139", "193.0.6.139"),
    # the client sent "1.2.3.4" itself; the proxy appended the address it saw
    ("1.2.3.4, 193.0.6.139", "193.0.6.139"),
    ("1.2.3.4,193.0.6.139 ", "193.0.6.139"),
    ("2001:db8::1", "2001:db8::1"),
    ("", None),
    (None, None),
    ("1.2.3.4, ", None),
])
def test_right_most_entry_is_the_client(header, client):
    assert forwarded_client(header) == client
