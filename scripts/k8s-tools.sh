#!/usr/bin/env bash
# The Kubernetes tools that check deploy/helm/herald (test/e2e/deploy.test.ts), built from the Go module
# proxy and cached under ~/.cache/herald by version, like scripts/ferretdb.sh's server:
#   helm         helm.sh/helm/v4 (cmd/helm)
#   kubeconform  github.com/yannh/kubeconform (cmd/kubeconform)
#   schemas      the JSON schemas kubeconform validates against, written by scripts/k8s-schemas.ts from the
#                OpenAPI document of the k8s.io/kubernetes module and the CRDs of the Prometheus Operator
#                (ServiceMonitor) and KEDA (ScaledObject, TriggerAuthentication) modules: kubeconform
#                downloads its schemas from GitHub by default, which a machine without internet cannot.
#
#   scripts/k8s-tools.sh path helm|kubeconform|schemas   # builds if needed, prints the path
#   scripts/k8s-tools.sh helm|kubeconform ARGS…          # runs the tool
#   scripts/k8s-tools.sh versions                        # what the cache is keyed by
# The first build downloads modules and compiles helm: minutes (see docs/operator-guide.md); later runs
# take the cached binaries.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${HERALD_CACHE_DIR:-$HOME/.cache/herald}"

HELM_MODULE=helm.sh/helm/v4
HELM_VERSION=v4.3.2
KUBECONFORM_MODULE=github.com/yannh/kubeconform
KUBECONFORM_VERSION=v0.8.0
# The Kubernetes release whose API the manifests are checked against, and the operators' CRD versions.
KUBERNETES_VERSION=v1.37.2
PROMETHEUS_OPERATOR_VERSION=v0.85.0
KEDA_VERSION=v2.21.0

log() { echo "k8s-tools.sh: $*" >&2; }

need_go() {
  command -v go >/dev/null || { log "go not found on PATH"; exit 1; }
}

# go install into a temporary directory, then rename: a killed build never leaves a binary that later
# runs would take as cached.
build() { # name module version ldflags
  local name="$1" module="$2" version="$3" ldflags="$4" bin tmp
  bin="$CACHE_DIR/bin/$name-$version"
  if [[ ! -x "$bin" ]]; then
    need_go
    mkdir -p "$CACHE_DIR/bin"
    log "building $bin (first build downloads modules and compiles: minutes)"
    tmp="$(mktemp -d "$CACHE_DIR/bin/.build.XXXXXX")"
    GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go install -trimpath -ldflags "$ldflags" "$module/cmd/$name@$version" >&2
    mv -f "$tmp/$name" "$bin"
    rm -rf "$tmp"
  fi
  echo "$bin"
}

# The directory of a module version, downloaded to Go's module cache if not there yet.
# A module whose go.mod asks for a newer Go than this one is refused (its "Error"), even though it is
# only read here: pick a version this Go accepts.
module_dir() { # module version
  local json dir
  need_go
  json="$(cd "$CACHE_DIR" && go mod download -json "$1@$2")" || true
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  if [[ -z "$dir" ]]; then
    log "cannot download $1@$2: $json"
    exit 1
  fi
  echo "$dir"
}

cmd_schemas() {
  local hash dir k8s prom keda tmp
  hash="$(cat "$ROOT/scripts/k8s-schemas.ts" | sha256sum | cut -c1-12)"
  dir="$CACHE_DIR/k8s-schemas/$KUBERNETES_VERSION-po$PROMETHEUS_OPERATOR_VERSION-keda$KEDA_VERSION-$hash"
  if [[ ! -f "$dir/deployment-apps-v1.json" ]]; then
    mkdir -p "$CACHE_DIR/k8s-schemas"
    log "writing $dir"
    k8s="$(module_dir k8s.io/kubernetes "$KUBERNETES_VERSION")"
    prom="$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")"
    keda="$(module_dir github.com/kedacore/keda/v2 "$KEDA_VERSION")"
    tmp="$dir.tmp.$$"
    "$ROOT/node_modules/.bin/node" "$ROOT/scripts/k8s-schemas.ts" "$tmp" "$k8s/api/openapi-spec/swagger.json" \
      "$prom/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
      "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" \
      "$keda/config/crd/bases/keda.sh_triggerauthentications.yaml" >&2
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  echo "$dir"
}

tool_path() {
  case "$1" in
    helm) build helm "$HELM_MODULE" "$HELM_VERSION" "-s -w -X $HELM_MODULE/internal/version.version=$HELM_VERSION" ;;
    kubeconform) build kubeconform "$KUBECONFORM_MODULE" "$KUBECONFORM_VERSION" "-s -w -X main.version=$KUBECONFORM_VERSION" ;;
    schemas) cmd_schemas ;;
    *) log "unknown tool: $1 (helm, kubeconform, schemas)"; exit 2 ;;
  esac
}

case "${1:-}" in
  path) tool_path "${2:-}" ;;
  helm | kubeconform)
    tool="$1"
    shift
    bin="$(tool_path "$tool")"
    exec "$bin" "$@"
    ;;
  versions)
    echo "helm $HELM_MODULE@$HELM_VERSION"
    echo "kubeconform $KUBECONFORM_MODULE@$KUBECONFORM_VERSION"
    echo "kubernetes k8s.io/kubernetes@$KUBERNETES_VERSION"
    echo "prometheus-operator github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
    echo "keda github.com/kedacore/keda/v2@$KEDA_VERSION"
    ;;
  *)
    echo "usage: scripts/k8s-tools.sh path helm|kubeconform|schemas | helm ARGS… | kubeconform ARGS… | versions" >&2
    exit 2
    ;;
esac
