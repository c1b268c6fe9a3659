#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ answer. Idempotent: does nothing when they already run, or when
# the environment points elsewhere (QUINTET_PG_DSN / QUINTET_AMQP_URL are then the caller's business).
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if [ -z "${QUINTET_PG_DSN:-}" ] && ! port_open 127.0.0.1 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if [ -z "${QUINTET_AMQP_URL:-}" ] && ! port_open 127.0.0.1 5672; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
fi
for _ in $(seq 1 60); do
  ok=1
  [ -n "${QUINTET_PG_DSN:-}" ] || port_open 127.0.0.1 5432 || ok=0
  [ -n "${QUINTET_AMQP_URL:-}" ] || port_open 127.0.0.1 5672 || ok=0
  [ "$ok" = 1 ] && exit 0
  sleep 1
done
echo "PostgreSQL or RabbitMQ did not come up on 127.0.0.1 (5432/5672)" >&2
exit 1
