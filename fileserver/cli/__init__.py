"""The operator's ``fileserver`` command line: talks to any gateway over HTTP only."""
