"""Developer tools: a real local S3 server for tests and `make run`; never deployed."""
