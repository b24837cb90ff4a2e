"""Every asyncua patch in one place: the fast path, the channel guard, the quiet start."""

# Written for asyncua 2.1.0. Each module here holds one patch (channels.py two), opening with
# what it replaces in asyncua, why, and what it checks: the SHA-256 of the source of each
# asyncua function it replaces or relies on (opcua_server.fastpath.patching). When asyncua
# changes any of them, a speed patch is refused with a logged warning and the server keeps
# running on asyncua's own, slower code with the same behaviour; a channel patch stops the
# server instead. `python -m bench.opcua` measures each.
#
# Where the server's time went (1000 Double variables, one subscriber; cProfile and py-spy),
# patch by patch: copies (monitored_item_copy), variants (null_variant), subscriptions
# (batched_data_changes), encoding (response_encoding), reads (read_request_cache), startup
# (quiet_startup, not a patch). Together (bench/opcua.py, 1000 variables, 2 shared cores):
# server CPU per value read 16-21 -> 3.5-4 µs; per notification delivered (its own variable
# changes included) 80-100 -> 30-35 µs; start-to-ready 1.7-2.2 -> 1.2-1.5 s.
#
# login (login_off_the_loop) keeps password checks off the event loop; channels
# (channel_refusals, channel_rules) answers what a secure channel may not carry; imports
# (nodeset_reverse_references) cuts the companion nodesets' import CPU by a third.
#
# Memory (bench/memory.py, 1000 machines x 20 tags, peak RSS 554 -> 286 MB): sharing
# (shared_attribute_values: equal attribute values, attribute objects and attribute tables
# are one object for many nodes, owned by a node before it changes), references
# (shared_reference_parts: one object per reference type id, type definition and
# HasTypeDefinition reference), nodeset_code (standard_nodes_code_released: the generated
# code that builds the standard nodes is let go once it has run).
#
# oftype (oftype_subtypes) makes a where clause's OfType true for the given event type and its
# subtypes, as OPC 10000-4 §7.7.3 says, in subscriptions and event history alike.

from opcua_server.fastpath.channels import CHANNEL_PATCHES, ChannelRules, guard_channels
from opcua_server.fastpath.install import PATCHES, install_fast_path
from opcua_server.fastpath.patching import ASYNCUA_VERSION, Patch, Target, install_patch
from opcua_server.fastpath.startup import quiet_startup, thaw

__all__ = [
    "ASYNCUA_VERSION",
    "CHANNEL_PATCHES",
    "PATCHES",
    "ChannelRules",
    "Patch",
    "Target",
    "guard_channels",
    "install_fast_path",
    "install_patch",
    "quiet_startup",
    "thaw",
]
