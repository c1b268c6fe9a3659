from quintet_testing.fuzz import fuzz_tests
from segments import SERVICE

globals().update(fuzz_tests(SERVICE))
