from quintet_testing import stairway_test
from vrs_import import SERVICE

test_migrations = stairway_test(SERVICE, migrations=4)  # the two messaging migrations, then our two
