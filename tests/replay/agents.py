"""The agent registry the recorded histories in fixtures/histories/ were produced with."""

from tests.conftest import capture_agent

agents = [capture_agent("a1")]
