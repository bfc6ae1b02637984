"""The Kapsule policy pack: `pulumi preview --policy-pack policy`. The rules are in `policy.rules`."""
