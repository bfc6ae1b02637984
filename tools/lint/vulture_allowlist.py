"""Names vulture (`make lint`) reports as unused that are used all the same: called by name by Pulumi, pytest,
pydantic or Python itself, or public API of `components` that other stacks import. Each group says who uses it.

vulture reads this file with the code (pyproject.toml, [tool.vulture]); nothing imports it.
"""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# Pulumi's mocks call these by name: Mocks.new_resource / Mocks.call (the offline plan, the examples' tests, the
# benchmark), the mock monitor's hook registration, and the settings' `callbacks` slot the plan fills.
_.new_resource
_.call
_.register_resource_hook
_.register_error_hook
_.callbacks
_.hook

# pytest calls its hooks by name; a fixture's keyword arguments are named for pytest too.
_.pytest_collection_modifyitems
_.kw

# pydantic reads these: each model's `model_config`, the base's init marker, and the fields of the specs, the
# price file and the policy settings, which reach the engine, the prices and the rules through model_dump()
# and validation rather than by name.
_.model_config
_.__pydantic_base_init__
_.allowedNodeTypes
_.balance_similar_node_groups
_.bound
_.certificate_ids
_.client_id
_.connection_rate_limit
_.disable_scale_down
_.enable_access_logs
_.enable_http3
_.estimator
_.expander
_.expendable_pods_priority_cutoff
_.failover_host
_.force_internal_ip
_.forward_port_algorithm
_.groups_claims
_.groups_prefix
_.http_code
_.http_method
_.ignore_daemonsets_utilization
_.ip_mode
_.issuer_url
_.log_level
_.m3_water_hourly
_.maxDays
_.maxIPv4Share
_.maxIPv6Share
_.maxMonthly
_.maxOpenShareIPv4
_.maxOpenShareIPv6
_.max_connections
_.max_graceful_termination_sec
_.minNodes
_.minZones
_.on_marked_down_action
_.redispatch_attempt_count
_.requiredTags
_.required_claims
_.scale_down_delay_after_add
_.scale_down_unneeded_time
_.scale_down_utilization_threshold
_.send_proxy
_.skip_nodes_with_local_storage
_.ssl_compatibility_level
_.target_node_labels
_.timeout_client
_.timeout_connect
_.timeout_queue
_.timeout_server
_.timeout_tunnel
_.transient_delay
_.use_hostname
_.username_claim
_.username_prefix
_.widestIPv4Prefix
_.widestIPv6Prefix

# Python calls these: a module's lazy __getattr__ and __dir__ (components/__init__.py), the arguments of a signal
# handler and of __exit__, the arguments an lru_cache keys on (a stack file's mtime, size and inode), and
# urllib's redirect hook (kapsule/access/address.py refuses every redirect).
_.redirect_request
_.__getattr__
_.__dir__
_.signum
_.frame
_.exc
_.mtime_ns
_.inode

# http.server and socketserver call these by name in the tests' loopback servers: the handler's do_<METHOD>
# methods, log_message (kept quiet), and the class attributes they read (protocol_version,
# disable_nagle_algorithm, daemon_threads).
_.do_GET
_.do_POST
_.do_PUT
_.do_DELETE
_.do_PATCH
_.log_message
_.protocol_version
_.disable_nagle_algorithm
_.daemon_threads

# Public API of `components` that other stacks import (listed in UPGRADE.md), and the one table of engine names.
_.REGIONS
_.is_dedicated
_.SIZE

# Read in a string annotation (a cast under TYPE_CHECKING), which vulture does not parse.
_.Stack

# The environment keeps every component it built, the shared registry's pull secret among them.
_.shared_pull_secret
_.shared_pull_secret

# The Kubernetes client reads the bearer token from Configuration.api_key and api_key_prefix (kapsule/rotate/kube.py).
_.api_key
_.api_key_prefix
