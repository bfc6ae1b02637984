#!/usr/bin/env bash
# `make engine`: the real Pulumi engine pieces this project runs, built from the Go module proxy with the
# wrapper modules beside this script (their go.mod and go.sum pin every version), into .tools/bin:
#   pulumi                       the CLI                          (github.com/pulumi/pulumi/pkg/v3)
#   pulumi-resource-kubernetes   the Kubernetes provider plugin   (github.com/pulumi/pulumi-kubernetes/provider/v4)
#   kube-apiserver, kube-controller-manager                        (k8s.io/kubernetes)
# A binary newer than every file of its wrapper module is up to date and not rebuilt; the Go build cache
# makes a rebuild after a change take minutes, not the tens of minutes of a cold build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools=${KAPSULE_TOOLS:-$(cd "$here/../.." && pwd)/.tools}
out="$tools/bin"
mkdir -p "$out"

PULUMI_VERSION=v3.274.1
# What the provider module's only served version reports itself as (its pseudo-version's date, 2026-01-15).
KUBERNETES_PROVIDER_VERSION=4.24.1-alpha.1768448096

# build NAME MODULE PACKAGE [go build flags...]
build() {
  local name=$1 module=$2 package=$3
  shift 3
  local binary="$out/$name"
  if [ -x "$binary" ] && [ -z "$(find "$here/$module" -type f -newer "$binary" -print -quit)" ]; then
    echo "engine: $name is up to date"
    return
  fi
  echo "engine: building $name from $package (a cold build takes 5 to 20 minutes on 2 cores)"
  local start=$SECONDS
  (cd "$here/$module" && go build -v -trimpath -o "$binary.partial" "$@" "$package" 2>&1) |
    awk -v name="$name" '/^#|: |^go: / { print; next } { if (++n % 250 == 0) printf "engine: %s: %d packages compiled\n", name, n; fflush() }'
  mv "$binary.partial" "$binary"
  echo "engine: $name built in $((SECONDS - start)) s"
}

# The provider's command embeds its schema, stamped with its version; write those two files beside the
# wrapper's own main (only when they change, so that an unchanged provider is not rebuilt).
provider_schema() {
  local module=github.com/pulumi/pulumi-kubernetes/provider/v4 dir file
  dir=$(cd "$here/kubernetes-provider" && go list -m -f '{{.Dir}}' "$module" 2>/dev/null) || dir=
  for file in schema.json terraform-mapping.json; do
    if [ -z "$dir" ] || [ ! -f "$dir/cmd/pulumi-resource-kubernetes/$file" ]; then
      echo "engine: the module $module is not in the Go module cache (${dir:-no directory}): run (cd tools/engine/kubernetes-provider && go mod download), then make engine again" >&2
      exit 1
    fi
  done
  python3 - "$dir/cmd/pulumi-resource-kubernetes" "$here/kubernetes-provider" "$KUBERNETES_PROVIDER_VERSION" <<'PY'
import json, pathlib, sys
source, target, version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
schema = json.loads((source / "schema.json").read_text())
schema["version"] = version
files = {"schema-embed.json": schema, "terraform-mapping-embed.json": json.loads((source / "terraform-mapping.json").read_text())}
for name, document in files.items():
    text = json.dumps(document, separators=(",", ":"))
    path = target / name
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
PY
}

# Every wrapper module's dependencies come down before anything reads the module cache: on a fresh
# machine the cache is empty, and `go list -m` then answers with an empty directory.
download() {
  local module=$1 start=$SECONDS
  echo "engine: downloading the Go modules of tools/engine/$module (first run: about a minute each)"
  if ! (cd "$here/$module" && go mod download 2>&1); then
    echo "engine: could not download the Go modules of tools/engine/$module: check the Go module proxy (go env GOPROXY), then run make engine again" >&2
    exit 1
  fi
  echo "engine: tools/engine/$module modules ready in $((SECONDS - start)) s"
}
for module in pulumi kubernetes-provider kubernetes; do download "$module"; done
build pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
provider_schema
build pulumi-resource-kubernetes kubernetes-provider . \
  -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION"
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager
echo "engine: ready in $out"
