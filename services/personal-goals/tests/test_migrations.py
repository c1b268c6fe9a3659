from personal_goals import SERVICE
from quintet_testing import stairway_test

# messaging_0001, messaging_0002, 0001_goals, 0002_goals_overlap_precheck, 0003_upload_cancel
test_migrations = stairway_test(SERVICE, migrations=5)
