from quintet_testing.fuzz import fuzz_tests
from vrs_import import SERVICE

# Fuzzed as company 1; a token of company 2 must be refused on every company's endpoint.
globals().update(fuzz_tests(SERVICE, claims={"companies": [1]}))
