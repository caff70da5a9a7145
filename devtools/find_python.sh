#!/bin/sh
# Print the path of a Python interpreter of the version Lambda runs (first argument, e.g. 3.12), or fail with one
# line saying what is missing and how to get it. Used by the Makefile before any virtual environment exists, so it
# is plain sh. Candidates, in order: $PYTHON if set (it must be that version), pythonX.Y and python3 on PATH, then
# pyenv's installed versions (pyenv's own shim on PATH fails when that version is not the selected one).
set -u
want="${1:?usage: find_python.sh X.Y}"

# Runs the candidate, so a shim or a broken link counts as absent.
is_wanted() {
    [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]
}

if [ -n "${PYTHON:-}" ]; then
    if is_wanted "$PYTHON"; then
        command -v "$PYTHON"
        exit 0
    fi
    echo "PYTHON=$PYTHON is not a working Python $want; unset it or point it at a python$want" >&2
    exit 1
fi

for candidate in "python$want" python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_wanted "$candidate"; then
        command -v "$candidate"
        exit 0
    fi
done

pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
# Newest patch release first (by number: 3.12.10 before 3.12.9); pre-releases such as 3.12.0rc1 are skipped.
pattern="^$(echo "$want" | sed 's/\./\\./g')\.[0-9]+\$"
for version in $(ls "$pyenv_root/versions" 2>/dev/null | grep -E "$pattern" | sort -t. -k3,3nr); do
    candidate="$pyenv_root/versions/$version/bin/python$want"
    if is_wanted "$candidate"; then
        echo "$candidate"
        exit 0
    fi
done

echo "no Python $want found (tried python$want and python3 on PATH, and $pyenv_root/versions/$want.*):" \
     "install it with \`pyenv install $want\` (or your system's python$want package), or run make PYTHON=/path/to/python$want" >&2
exit 1
