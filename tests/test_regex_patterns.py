"""Which regular expressions the engine may run: back-references are found as POSIX reads a pattern."""

import pytest

from chalicelib.limits.regex_patterns import back_reference, literal_patterns, pattern_size


@pytest.mark.parametrize("pattern, found", [
    ("(a+)+\\1\\1\\1b", "\\1"),
    ("(a)(b)\\2", "\\2"),
    ("x\\9", "\\9"),
    ("\\\\1", None),  # an escaped backslash, then the digit 1
    ("[\\1]", None),  # in a bracket expression a backslash is an ordinary character
    ("[]\\1]x", None),  # a leading ] is a member of the set
    ("[^]\\1]", None),
    ("[[:digit:]\\1]", None),
    ("[a]\\1", "\\1"),  # after the set closes, it is a back-reference again
    ("\\0", None),
    ("a\\.b", None),
    ("abc\\", None),
])
def test_back_references_are_found_where_posix_would_read_them(pattern, found):
    assert back_reference(pattern) == found


def test_literal_patterns_are_found_wherever_the_document_calls_re():
    document = {"action": [{"let": {"x": {"re.index": ["input", {"string": "(a)\\1"}]}}},
                           {"if": True, "then": {"re.split": ["input", ["b+"]]}},
                           {"re.contains": ["input", {"s.concat": ["a", "b"]}]}]}
    assert sorted(literal_patterns(document)) == [("re.index", "(a)\\1"), ("re.split", "b+")]


@pytest.mark.parametrize("pattern, size", [
    ("x", 1), ("(ab){3}c", 10), ("a{2,}", 3), ("a{2,5}", 5), ("(a+)+b", 5), ("(.*a){150}x", 601),
    ("((a{10}){10}){10}", 1110), ("[a-z]{1,255}", 255), ("a|bc", 3), ("(a", 2),
])
def test_a_pattern_is_sized_with_its_counted_repetitions_written_out(pattern, size):
    assert pattern_size(pattern) == size
