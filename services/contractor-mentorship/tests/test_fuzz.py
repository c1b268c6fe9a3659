from contractor_mentorship import SERVICE
from quintet_testing.fuzz import fuzz_tests

# The driver endpoints need the driver's identity claims; the fuzzing token carries a driver's.
globals().update(fuzz_tests(SERVICE, claims={"park_id": "park-fuzz", "driver_id": "driver-fuzz"}))
