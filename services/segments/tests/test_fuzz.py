from types import SimpleNamespace

from quintet_testing.fuzz import fuzz_tests

globals().update(fuzz_tests(SimpleNamespace(routes="segments.api.routes:routes")))
