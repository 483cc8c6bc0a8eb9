#!/usr/bin/env bats
# --version: every binary prints "NAME VERSION" (the build's git description) and exits 0,
# whatever else is on its command line.

load helper

@test "every binary prints its version and exits 0" {
  versions=()
  for b in dpt-data dpt-train dpt-sweep dpt-aggregate dpt-inspect dpt-bench; do
    run "$BIN/$b" --version
    assert_success
    assert_output --regexp "^$b [^ ]+\$"
    versions+=("${output#"$b "}")
  done
  # one build, one version
  [ "$(printf '%s\n' "${versions[@]}" | sort -u | wc -l)" = 1 ]
}

@test "--version wins over other arguments, and --help lists it" {
  for b in dpt-data dpt-aggregate dpt-inspect; do
    run "$BIN/$b" no-such-file --version
    assert_success
    assert_output --regexp "^$b [^ ]+\$"
    run "$BIN/$b" --help
    assert_output --partial "--version"
  done
}
