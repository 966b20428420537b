"""awaitify: migrate a sync SQLAlchemy Session code base to AsyncSession."""

__version__ = "0.1.0"
