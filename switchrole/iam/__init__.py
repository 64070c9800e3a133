"""Pure IAM policy documents and IAM arithmetic: trust and grant policies, quotas, comparing documents by meaning.
No CDK, no AWS.
"""
