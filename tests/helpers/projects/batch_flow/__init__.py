"""A flow that fans out: one ``SummaryCrew`` per item, concurrently (``akickoff`` in
asyncio tasks from an async flow method)."""
