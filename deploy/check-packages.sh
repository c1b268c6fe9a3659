#!/usr/bin/env bash
# Each workspace package alone in the virtualenv, so a shared environment cannot hide a missing
# dependency: first with its runtime dependencies only, importing every one of its modules; then with
# the test tools added, running its own tests. The full environment is restored at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="$(command -v uv 2>/dev/null || echo "$HOME/.local/bin/uv")"
PY=.venv/bin/python
status=0
for dir in libs/* services/* deploy/stand-ins deploy/console; do
  [ -f "$dir/pyproject.toml" ] || continue
  name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/pyproject.toml" | head -1)
  package=$(basename "$(ls -d "$dir"/src/*/ | head -1)")
  echo "== $name: imports with its own dependencies"
  "$UV" sync --locked --package "$name" --no-default-groups --quiet
  if ! "$PY" - "$package" <<'PY'
import importlib, pkgutil, sys
root = importlib.import_module(sys.argv[1])
failed = []
for module in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
    if module.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(module.name)
    except Exception as exc:  # report every module that cannot be imported, then fail
        failed.append(f"{module.name}: {type(exc).__name__}: {exc}")
print("\n".join(failed) or f"{sys.argv[1]}: every module imports")
sys.exit(1 if failed else 0)
PY
  then status=1; continue; fi
  if compgen -G "$dir/tests/test_*.py" >/dev/null; then
    echo "== $name: its tests with its own dependencies and the test tools"
    "$UV" sync --locked --package "$name" --group dev --quiet
    "$PY" -m pytest -q -p no:randomly "$dir/tests" || status=1
  fi
done
"$UV" sync --all-packages --locked --quiet
exit $status
