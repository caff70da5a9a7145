"""Bounds on what one request, document or model may take: time, memory, and the size of an answer."""
