"""Drift: what is live but not what the stack file declares, from the real engine's refreshing preview
(`model`), reported as text, JSON and the issue's markdown (`report`); the scheduled workflow's one issue
per stack (`issue`); what no stack manages, from the Scaleway API (`unmanaged`); and the nodes past their pool's maximum age
(`age`).

May import: kapsule.exits, kapsule.scaleway, kapsule.names, kapsule.files, kapsule.stackfile, kapsule.state, kapsule.cost, kapsule.reports, components.
"""
