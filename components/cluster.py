"""Cluster: a Kapsule (or Kosmos) control plane, its kubeconfig and the Kubernetes provider built on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from .api_access import AclRule, RunRule, acl_rules, with_live_run_rules
from .attached import AttachedPool
from .cluster_spec import ClusterSpec, cluster_problems
from .network import PrivateNetwork
from .scaleway import kubernetes
from .spec import check, render_tags


class Cluster(pulumi.ComponentResource):
    """A Kapsule cluster with its kubeconfig (secret) and a Kubernetes provider that waits for its pools."""

    TYPE = "kapsule:cluster:Cluster"

    id: pulumi.Output[str]
    """The cluster id (`<region>/<uuid>`)."""
    apiserver_url: pulumi.Output[str]
    """The Kubernetes API server URL."""
    wildcard_dns: pulumi.Output[str]
    """The DNS wildcard that resolves to the nodes' public IPs."""
    kubeconfig: pulumi.Output[str]
    """The admin kubeconfig file, always a Pulumi secret."""

    # longer than 60 lines: a component constructor registers its children in order, each with parent=self; split, its state would travel between halves
    def __init__(
        self,
        name: str,
        spec: ClusterSpec,
        *,
        network: PrivateNetwork | None = None,
        region: str | None = None,
        tags: dict[str, str] | None = None,
        run_rules: Sequence[RunRule] = (),
        live_run_rules: Callable[[], Sequence[RunRule]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name of the cluster.
            spec: The control plane's plain values.
            network: The PrivateNetwork the cluster attaches to; required for Kapsule, forbidden for Kosmos.
            region: The region; required for Kosmos, else the network's.
            tags: Tags added to the cluster, below the spec's own.
            run_rules: Rules a CI run added to the allow-list for itself (`kapsule access open`): kept while it runs.
            live_run_rules: Reads the run rules on the live allow-list again, once the cluster is known and right
                before the allow-list is registered, so that a job that opened it after this run keeps its rule.
            opts: Pulumi resource options.
        """
        check(
            f"Cluster {name}",
            cluster_problems(
                spec,
                network=network.spec if network is not None else None,
                region=region,
                network_region=network.region if network is not None else None,
            ),
        )
        # One of the two is set: cluster_problems, checked just above, requires it.
        region = cast(str, region or (network.region if network is not None else None))

        super().__init__(self.TYPE, name, None, opts)
        self.spec = spec
        self.region = region
        self.network = network
        self.pools: list[AttachedPool] = []
        self._provider: k8s.Provider | None = None
        #: Each pool's drain settings by logical name; a pool no longer declared is drained with the defaults.
        self.drain_settings: dict[str, tuple[bool, str]] = {}
        #: Registered on every run, so that the engine finds it for a pool replaced now or removed since.
        self.drain_hook = pulumi.ResourceHook(f"{name}-drain-pools", self._drain_before_delete)

        upgrade = spec.auto_upgrade
        autoscaler = spec.autoscaler.model_dump(exclude_none=True)
        oidc = spec.oidc
        self.cluster = kubernetes.Cluster(
            name,
            name=spec.name,
            type=spec.type,
            version=spec.version,
            cni=spec.cni,
            region=region,
            private_network_id=network.id if network is not None else None,
            delete_additional_resources=spec.delete_additional_resources,
            upgrade_pools=spec.upgrade_pools,
            auto_upgrade=kubernetes.ClusterAutoUpgradeArgs(
                enable=upgrade.enabled,
                maintenance_window_day=upgrade.maintenance_window_day,
                maintenance_window_start_hour=upgrade.maintenance_window_start_hour,
            ),
            autoscaler_config=kubernetes.ClusterAutoscalerConfigArgs(**autoscaler) if autoscaler else None,
            # Empty lists are left unset, as Scaleway stores them.
            open_id_connect_config=kubernetes.ClusterOpenIdConnectConfigArgs(**_unset_empty(oidc.model_dump()))
            if oidc is not None
            else None,
            feature_gates=spec.feature_gates or None,
            admission_plugins=spec.admission_plugins or None,
            apiserver_cert_sans=spec.apiserver_cert_sans or None,
            pod_cidr=spec.pod_cidr,
            service_cidr=spec.service_cidr,
            service_dns_ip=spec.service_dns_ip,
            description=spec.description,
            tags=render_tags(tags or {}, spec.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=spec.protect),
        )
        #: The API server's allow-list: one per cluster, its id the cluster's; None keeps Scaleway's default (open).
        self.acl: kubernetes.Acl | None = None
        access = spec.api_access
        if access is not None:
            rules: pulumi.Input[Sequence[pulumi.Input[kubernetes.AclAclRuleArgs]]] | None = _rule_args(
                acl_rules(access, () if access.full_isolation else run_rules)
            )
            if live_run_rules is not None and not access.full_isolation:
                reread = live_run_rules
                # Once the cluster's id is known, that is after its own update and right before the allow-list's.
                rules = self.cluster.id.apply(
                    lambda _: _rule_args(acl_rules(access, with_live_run_rules(run_rules, reread()))) or []
                )
            self.acl = kubernetes.Acl(
                f"{name}-api-access",
                cluster_id=self.cluster.id,
                region=region,
                acl_rules=rules,
                no_ip_allowed=True if access.full_isolation else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.id = self.cluster.id
        self.apiserver_url = self.cluster.apiserver_url
        self.wildcard_dns = self.cluster.wildcard_dns
        self.kubeconfig = pulumi.Output.secret(
            self.cluster.kubeconfigs.apply(lambda configs: cast(str, configs[0].config_file))
        )
        self.register_outputs(
            {
                "id": self.id,
                "apiserver_url": self.apiserver_url,
                "wildcard_dns": self.wildcard_dns,
                "kubeconfig": self.kubeconfig,
            }
        )

    async def _drain_before_delete(self, args: pulumi.ResourceHookArgs) -> None:
        """Drain a pool before the engine deletes it; raising stops the deletion (components/drain.py)."""
        import asyncio

        from .drain import DRAIN_DEFAULTS, drain_pool, kubernetes_client, parse_duration

        drain, timeout = self.drain_settings.get(args.name, DRAIN_DEFAULTS)
        pool_name = (args.old_outputs or {}).get("name") or args.name
        if not drain:
            pulumi.log.warn(f"pool {pool_name}: drain is off for this pool; its workloads stop with its nodes")
            return
        kubeconfig = await self.kubeconfig.future()
        if kubeconfig is None:
            raise RuntimeError(f"pool {pool_name}: the cluster's kubeconfig is unknown, so the pool cannot be drained")
        api_client = kubernetes_client(kubeconfig)
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: drain_pool(api_client, pool_name, parse_duration(timeout), log=pulumi.log.info)
        )

    def attach(self, pool: AttachedPool) -> None:
        """Record a pool of this cluster, so the Kubernetes provider waits for it."""
        if self._provider is not None:
            raise ValueError(
                f"Pool {pool.name}: declared after cluster.provider was first used; declare every Pool of a cluster first"
            )
        self.pools.append(pool)

    @property
    def provider(self) -> k8s.Provider:
        """The Kubernetes provider for this cluster, usable once every declared pool is ready."""
        if self._provider is None:
            if not self.pools:
                raise ValueError(
                    "Cluster.provider: declare at least one Pool of this cluster first; its kubeconfig works only once a pool is ready"
                )
            # The kubeconfig comes from the cluster alone: a replaced pool must not make it unknown, or
            # pulumi-kubernetes replaces the provider and every object on it. depends_on keeps the order:
            # the pools, and the allow-list, so nothing reaches the API server before its access is set.
            waits_for: list[pulumi.Resource] = [pool.pool for pool in self.pools]
            if self.acl is not None:
                waits_for.append(self.acl)
            self._provider = k8s.Provider(
                f"{self._name}-kubernetes",
                kubeconfig=self.kubeconfig,
                # Secret data changes in place (a rotated pull key) instead of deleting and recreating the Secret.
                enable_secret_mutable=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for),
            )
        return self._provider


def _unset_empty(values: dict[str, Any]) -> dict[str, Any]:
    """Empty lists left unset, as Scaleway stores them."""
    return {k: (v or None) if isinstance(v, list) else v for k, v in values.items()}


def _rule_args(rules: list[AclRule]) -> list[kubernetes.AclAclRuleArgs] | None:
    """The allow-list's rules as the SDK takes them; None for none (full isolation)."""
    return [kubernetes.AclAclRuleArgs(**rule) for rule in rules] or None
