"""Node rotation: each pool's nodes past its `max_node_age_days`, from the Scaleway API matched to the Kubernetes
Node objects (`nodes`, `scaleway`), the plan with the upgrade's drain checks (`plan`), and `--apply`: one node at a
time, cordon, the PodDisruptionBudget-aware drain, Scaleway's ReplaceNode, then wait (`apply`).

May import: kapsule.exits, kapsule.scaleway, kapsule.names, kapsule.files, kapsule.stackfile, kapsule.state, kapsule.upgrade, components.
"""
