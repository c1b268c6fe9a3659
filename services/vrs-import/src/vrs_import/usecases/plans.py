"""Reading and editing a company's routes and orders."""

from __future__ import annotations

from datetime import date

import asyncpg

from vrs_import.domain.errors import OrderNotFound, RouteNotFound
from vrs_import.domain.orders import OrderStatus, check_transition
from vrs_import.storage import locks
from vrs_import.storage import orders as orders_sql
from vrs_import.storage import routes as routes_sql


async def list_routes(
    pool: asyncpg.Pool, company_id: int, day: date, *, page: int, per_page: int
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await routes_sql.list_routes(conn, company_id, day, per_page, (page - 1) * per_page)


async def get_route(
    pool: asyncpg.Pool, company_id: int, route_id: int
) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """The route and its orders in sequence (one snapshot)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        route = await routes_sql.get_route(conn, company_id, route_id)
        if route is None:
            raise RouteNotFound(route_id)
        return route, await orders_sql.route_orders(conn, route_id)


async def find_orders(
    pool: asyncpg.Pool, company_id: int, number: str | None, *, page: int, per_page: int
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await orders_sql.find_orders(conn, company_id, number, per_page, (page - 1) * per_page)


async def change_order_status(
    pool: asyncpg.Pool, company_id: int, order_id: int, status: OrderStatus
) -> asyncpg.Record:
    """Shares the company's lock with other edits: an import (which holds it exclusively) never sees
    an order start between its check and its write."""
    async with pool.acquire() as conn, conn.transaction():
        await locks.lock_company_shared(conn, company_id)
        order = await orders_sql.get_order(conn, company_id, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        check_transition(order["number"], OrderStatus(order["status"]), status)
        if order["status"] == status:
            return order
        return await orders_sql.set_status(conn, order_id, status)
