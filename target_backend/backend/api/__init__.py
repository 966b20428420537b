"""FastAPI application, services and models of the SoniqueBay library API."""
