"""Aliases that let a component change its type token without replacing what is deployed."""

from __future__ import annotations

import pulumi


def former_types(opts: pulumi.ResourceOptions | None, types: tuple[str, ...]) -> pulumi.ResourceOptions:
    """`opts` with an alias for each earlier type token; the engine extends them to every child."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=t) for t in types]))
