"""The read service (issue 6, being built): the query model so far."""
