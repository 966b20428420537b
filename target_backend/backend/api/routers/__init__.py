"""HTTP routers, all mounted under /api."""
