"""The patch that checks OPC UA passwords off the event loop fits the pinned asyncua."""

from __future__ import annotations

from asyncua.server.uaprocessor import UaProcessor

from opcua_server.fastpath import PATCHES, install_patch


def test_the_login_patch_fits_the_pinned_asyncua() -> None:
    """Fails when asyncua's ActivateSession handling changed: re-check the patch against it."""
    assert PATCHES["login_off_the_loop"].problem() is None


def test_the_read_request_cache_still_recognises_asyncua_inside_the_login_patch() -> None:
    assert install_patch(PATCHES["login_off_the_loop"])
    assert UaProcessor._process_message is PATCHES["login_off_the_loop"].targets[0].replacement
    assert PATCHES["read_request_cache"].problem() is None
