"""The accounts file -> :class:`~switchrole.model.organisation.Organisation`: schema, loading, references,
resolution, expiry, errors. No CDK, no AWS.
"""
