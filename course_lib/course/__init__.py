"""Course machinery: what turns the library into a course with graded exercises.

- :mod:`~course_lib.course.exercises`  generates the learner notebooks from ``solutions/``
- :mod:`~course_lib.course.checks`     one check per exercise, naming the typical mistakes
- :mod:`~course_lib.course.grader`     runs and scores a learner's notebook
- :mod:`~course_lib.course.readme`     the generated blocks of README.md
- :mod:`~course_lib.course.nbgrader_export`  an nbgrader course folder (source/ + nbgrader_config.py) from ``solutions/``
"""
