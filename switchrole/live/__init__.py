"""Against AWS: the smoke check (prove a switch) and the audit (live IAM against the file)."""
