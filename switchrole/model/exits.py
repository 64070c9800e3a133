"""The exit codes of every switchrole command, in one place.

0: done, nothing to report. 1: a check failed or something could not be done (an account unreadable, a switch
refused, the deadline passed). 2: bad usage or configuration, one line per problem, nothing changed. 3: the
command worked and found a difference a script must see (`diff`: access changed; `audit`: drift).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CHANGED = 3
