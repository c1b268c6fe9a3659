"""Per-company serialization: every import takes the company's lock exclusively, every edit shares it.

A transaction-level advisory lock taken before any lock on the company's rows: two imports into one
company queue on it instead of interleaving their reads and writes, and since it is always the first
lock taken on company data (an import holds only its own `imports` row before it), no lock cycle
(deadlock) can form between imports and edits. The key is a 64-bit hash of a namespaced name,
so other schemas' advisory locks in the same database do not collide with ours (a collision between
two companies would only serialize them, never break anything).
"""

from __future__ import annotations

import asyncpg


async def lock_company(conn: asyncpg.Connection, company_id: int) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('vrs_import.company:' || $1::bigint::text, 0))",
        company_id,
    )


async def lock_company_shared(conn: asyncpg.Connection, company_id: int) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended('vrs_import.company:' || $1::bigint::text, 0))",
        company_id,
    )
