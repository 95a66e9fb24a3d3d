"""cli: argument types shared by verbs."""


def whole_number(expected):
    """An argparse type: a whole number, 0 or more; anything else is refused with
    "expected EXPECTED, got 'TEXT'" (bad usage, exit 2)."""
    def read(text):
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            import argparse

            raise argparse.ArgumentTypeError("expected %s, got %r" % (expected, text))
        return value
    return read


line_count = whole_number("a number of lines (0 or more)")
seconds = whole_number("a number of seconds (0 or more)")
