"""What the check tests assert about a check's output, written once.

- :func:`fails`: the check rejects ``fn``, names each phrase, and every line fits 100 characters;
- :func:`named`: like :func:`fails`, but each phrase is looked for in the whitespace-normalised
  message (so a phrase may span a line break), which it returns;
- :func:`passes`: the check accepts ``fn``, prints PASS, and every printed line fits 100 characters.
"""

from course_lib.course.checks.core import failure_message


def fails(check, fn, *phrases):
    message = failure_message(check, fn, *phrases)
    too_long = [line for line in message.splitlines() if len(line) > 100]
    assert not too_long, f"lines over 100 characters: {too_long}"
    return message


def passes(check, fn, capsys):
    check(fn)
    out = capsys.readouterr().out
    assert "PASS" in out and all(len(line) <= 100 for line in out.splitlines()), out


def named(check, fn, *phrases):
    """``check(fn)`` fails, its lines fit in 100 characters, and the message (whitespace-normalised) has each phrase."""
    message = failure_message(check, fn)
    assert all(len(line) <= 100 for line in message.splitlines()), message
    flat = " ".join(message.split())
    for phrase in phrases:
        assert phrase in flat, f"{phrase!r} not in: {message}"
    return flat
