"""SoniqueBay backend (sync starting state of the async migration)."""
