"""What is flashed and how it is driven: board tops and host drivers."""
