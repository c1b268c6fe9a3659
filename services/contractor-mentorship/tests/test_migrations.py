from contractor_mentorship import SERVICE
from quintet_testing import stairway_test

# The platform's messaging migrations (2), then ours (2).
test_migrations = stairway_test(SERVICE, migrations=4)
