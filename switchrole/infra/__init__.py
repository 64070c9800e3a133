"""Everything that imports aws_cdk: the constructs, the stacks, the app (assembly), cdk-nag, CloudFormation's
limits and replacements, bootstrap.
"""
