from quintet_testing import stairway_test
from segments import SERVICE

test_migrations = stairway_test(SERVICE, migrations=4)
