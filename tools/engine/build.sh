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
  local dir
  dir=$(cd "$here/kubernetes-provider" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
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

(cd "$here/pulumi" && go mod download) >/dev/null
build pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
provider_schema
build pulumi-resource-kubernetes kubernetes-provider . \
  -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION"
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager
echo "engine: ready in $out"
