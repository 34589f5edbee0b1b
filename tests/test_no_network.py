"""The suite's network guard works, so a test that passes did not reach the network."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.conftest import NetworkAccessError


def test_internet_sockets_are_refused() -> None:
    with pytest.raises(NetworkAccessError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.connect(("127.0.0.1", 9))


def test_name_resolution_and_http_are_refused() -> None:
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("huggingface.co", 443)
    with pytest.raises((NetworkAccessError, urllib.error.URLError)):
        urllib.request.urlopen("https://huggingface.co", timeout=1)
