"""Event studies of abnormal returns with the full test battery, vectorized over all firm-events.

``EventStudy(returns, events, ...).fit()`` returns ``EventStudyResults`` (tidy frames, ``summary()``,
``cross_section()``). See ``models.event_study.study`` for the parameters. The significance tests it
runs are those of ``models.event_study.significance.REGISTRY`` (add one with ``significance_test``).
"""

from models.event_study.results import EventStudyResults
from models.event_study.significance import SignificanceTest, TestInputs, TestResult, significance_test
from models.event_study.study import EventStudy

__all__ = ["EventStudy", "EventStudyResults", "SignificanceTest", "TestInputs", "TestResult", "significance_test"]
