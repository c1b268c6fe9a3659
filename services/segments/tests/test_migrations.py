from quintet_testing import stairway_test
from segments import SERVICE

test_migrations = stairway_test(SERVICE, migrations=5)  # messaging 0001-0002, segments 0001-0003
