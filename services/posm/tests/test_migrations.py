from posm import SERVICE
from quintet_testing import stairway_test

test_migrations = stairway_test(SERVICE, migrations=2)
