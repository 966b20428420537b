"""Pydantic v2 request/response schemas."""
