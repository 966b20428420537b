"""Business services; one class per domain, holding the request's session."""
