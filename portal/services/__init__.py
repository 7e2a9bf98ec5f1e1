"""Use cases shared by views, jobs and the CLI. Services own the transaction (they commit or roll back)."""
