from personal_goals import SERVICE
from quintet_testing.fuzz import fuzz_tests

globals().update(fuzz_tests(SERVICE))
