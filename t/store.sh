#!/bin/sh
# store.sh - the report store's unit test (t/test_store), on SQLite and on a
# private PostgreSQL server started here (DMARC_TEST_PG), so the fleet path
# (several importers into one database) really runs.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
start_postgres
DMARC_TEST_PG="$PG_URI" "$top_builddir/t/test_store" > "$T_DIR/out" 2>&1
rc=$?
# Pass the unit test's TAP through, renumbered into ours.
while IFS= read -r line; do
	case "$line" in
	"ok "*" # SKIP"*|"not ok "*) ok 1 "$(printf '%s' "$line" | sed 's/^\(not \)\{0,1\}ok [0-9]* - //')" ;;
	"ok "*) ok 0 "$(printf '%s' "$line" | sed 's/^ok [0-9]* - //')" ;;
	"#"*) echo "$line" ;;
	esac
done < "$T_DIR/out"
is "$rc" 0 "test_store exited 0 against PostgreSQL $PG_PORT"
done_testing
