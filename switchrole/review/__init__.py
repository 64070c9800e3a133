"""File to file, no AWS call: the access review, the matrix, the summary, onboarding and offboarding edits."""
