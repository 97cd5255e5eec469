"""Services of querygen: runs, groups, engines."""
