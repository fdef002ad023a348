"""Hypothesis profiles for the reference tests.

Select with ``HYPOTHESIS_PROFILE`` (default ``ci``):

* ``ci``  -- derandomized (the same examples on every run and machine), no
  example database, 50 examples per property, no deadline (a shared CI runner
  must not turn a slow example into a failure), and the reproduction blob is
  printed on failure. The whole ``tests/test_reference_*.py`` set runs in well
  under a minute on 2 cores with this profile.
* ``dev`` -- 500 random examples per property, for hunting locally.
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, max_examples=50, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
