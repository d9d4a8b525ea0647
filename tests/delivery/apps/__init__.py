"""Small programs the delivery tests run in subprocesses."""
