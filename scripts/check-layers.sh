#!/usr/bin/env bash
# Fails when a part of the project includes a part it may not (docs/ARCHITECTURE.md).
# Each folder lists the folders its files may include, directly; "may include" is not
# transitive here on purpose: every allowed arrow is written down.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [core]=""
  [config]="core"
  [server/net]="core"
  [server/http]="server/net core"
  [server/storage]="config core"
  [server/ingest]="server/storage server/net config core"
  [server/delivery]="server/storage server/net config core"
  [server/service]="server/ingest server/delivery server/http server/storage server/net config core"
  [app]="server/service server/ingest server/delivery server/http server/storage server/net config core"
)

part_of() {  # the part a project include path or source file belongs to
  case "$1" in
    core/*) echo core ;;
    config/*) echo config ;;
    server/*/*) echo "${1%%/*}/$(cut -d/ -f2 <<<"$1")" ;;
    app/*) echo app ;;
    *) echo "" ;;
  esac
}

status=0
while IFS= read -r file; do
  from=$(part_of "$file")
  [[ -n "$from" ]] || continue
  while IFS=: read -r line include; do
    to=$(part_of "$include")
    [[ -n "$to" && "$to" != "$from" ]] || continue
    if [[ " ${allowed[$from]} " != *" $to "* ]]; then
      echo "$file:$line: $from may not include $include ($to)"
      status=1
    fi
  done < <(grep -n '^#include "' "$file" | sed -E 's/^([0-9]+):#include "([^"]+)".*/\1:\2/')
done < <(git ls-files 'core/*' 'config/*' 'server/*' 'app/*' | grep -E '\.(cpp|hpp)$')

if [[ $status -eq 0 ]]; then
  echo "layers: every include follows the arrows"
fi
exit $status
