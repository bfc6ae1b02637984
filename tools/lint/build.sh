#!/usr/bin/env bash
# `make lint-tools`: actionlint, the GitHub workflow linter, built from the Go module proxy with the wrapper
# module beside this script (its go.mod and go.sum pin every version), into .tools/bin. A binary newer than
# every file of this module is up to date and not rebuilt. From an empty module cache, `go mod download`
# fetches what go.sum names first (about a minute); the build itself takes well under a minute.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools=${KAPSULE_TOOLS:-$(cd "$here/../.." && pwd)/.tools}
out="$tools/bin"
mkdir -p "$out"

ACTIONLINT_VERSION=v1.7.12
binary="$out/actionlint"
if [ -x "$binary" ] && [ -z "$(find "$here" -type f -newer "$binary" -print -quit)" ]; then
  echo "lint: actionlint is up to date"
  exit 0
fi
if ! (cd "$here" && go mod download 2>&1); then
  echo "lint: could not download the Go modules of tools/lint: check the Go module proxy (go env GOPROXY), then run make lint-tools again" >&2
  exit 1
fi
echo "lint: building actionlint $ACTIONLINT_VERSION"
(cd "$here" && go build -trimpath -o "$binary.partial" \
  -ldflags "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint)
mv "$binary.partial" "$binary"
echo "lint: actionlint built into $binary"
