"""A resource as the plan and the recorded state both see it (`model`: inputs, outputs, secrets,
unknowns) and its URN (`urns`, aliases included).

May import: kapsule.names.
"""
