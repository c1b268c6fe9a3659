from personal_goals import SERVICE
from quintet_testing import stairway_test

# messaging_0001, 0001_goals, 0002
test_migrations = stairway_test(SERVICE, migrations=3)
