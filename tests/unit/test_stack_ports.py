"""Who holds a port: a service started by the tests or the benches refuses a taken port
(a server left behind would otherwise answer its readiness check)."""

from __future__ import annotations

import os
import socket

import pytest

from analytics.config import Config
from stack.launch import WriteService
from stack.lifecycle import port_taken_by


@pytest.fixture
def listening():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_listening_port_names_its_holder(listening):
    assert port_taken_by(listening).startswith(f"pid {os.getpid()} (")


def test_a_free_port_is_free():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert port_taken_by(port) is None


def test_a_service_refuses_a_taken_port(listening, tmp_path):
    service = WriteService(Config().replace(state_dir=tmp_path, write_api_port=listening))
    with pytest.raises(RuntimeError, match=f"port {listening} is in use by pid {os.getpid()}"):
        service.start()
    assert service.proc is None  # nothing was started
