#!/usr/bin/env bash
# Run two commands side by side, as `make test` runs its VM suites beside the host's
# builds and tests. The first command's lines come out prefixed with PREFIX as they are
# written, the second's as they are. Both run to their end whatever the other does; the
# exit status is the first command's if it failed, else the second's.
#
#   tests/lanes.sh PREFIX FIRST_COMMAND SECOND_COMMAND
set -uo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 PREFIX FIRST_COMMAND SECOND_COMMAND" >&2
    exit 2
fi
prefix=$1 first=$2 second=$3

# pipefail: the background job's status is the command's, not awk's.
(bash -c "$first" 2>&1 | PREFIX=$prefix awk '{ print ENVIRON["PREFIX"] $0; fflush() }') &
first_pid=$!
bash -c "$second"
second_rc=$?
wait "$first_pid"
first_rc=$?

echo "lanes: '$first' exited $first_rc; '$second' exited $second_rc"
[ "$first_rc" = 0 ] || exit "$first_rc"
exit "$second_rc"
