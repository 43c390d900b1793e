#!/usr/bin/env bash
# Checks deploy/ offline, as CI runs it:
#   1. kubectl kustomize renders every overlay and the spool-drain Job;
#   2. every rendered object validates against the Kubernetes API schemas and the Prometheus
#      Operator's CRDs (npm kubernetes-models), with no undeclared field, and the examples of
#      tests/deploy/invalid are rejected;
#   3. the PrometheusRule is the one generated from deploy/prometheus/rules.yaml;
#   4. promtool checks the alert rules, runs their unit tests, and parses every query of the
#      Grafana dashboard;
#   5. every lsr_* and process_* metric the rules and the dashboard use is one the relay exports;
#   6. the relay's check-config accepts the ConfigMaps' relay.yaml (when the relay is built).
# Needs kubectl (with kustomize v5), node and npm, promtool (Debian: prometheus; installed here
# when missing and running as root). The npm packages of tests/deploy/package-lock.json go to
# a cache directory, never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

for tool in kubectl node npm; do
  command -v "$tool" >/dev/null || { echo "check-deploy: $tool is missing" >&2; exit 1; }
done
case "$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')" in
  [5-9] | [1-9][0-9]) ;;
  *) echo "check-deploy: kubectl with kustomize v5 or later is needed (kubectl 1.27+)" >&2; exit 1 ;;
esac
if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing promtool (Debian package prometheus)"
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
  fi
  command -v promtool >/dev/null || { echo "check-deploy: promtool is missing (apt-get install prometheus)" >&2; exit 1; }
fi

# -- npm packages, pinned by the lock file, installed once per lock file version
npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/looker-segment-relay/deploy-npm"
if ! cmp -s tests/deploy/package-lock.json "$npm_dir/package-lock.json" || [ ! -d "$npm_dir/node_modules" ]; then
  echo "== npm ci into $npm_dir"
  rm -rf "$npm_dir"
  mkdir -p "$npm_dir"
  cp tests/deploy/package.json tests/deploy/package-lock.json "$npm_dir/"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
export LSR_DEPLOY_NPM_DIR="$npm_dir"

# -- 1. render
echo "== kubectl kustomize"
targets=(deploy/kubernetes/overlays/production deploy/kubernetes/overlays/local deploy/kubernetes/jobs/spool-drain)
for t in "${targets[@]}"; do
  out="$work/$(echo "$t" | tr / _).yaml"
  if kubectl kustomize "$t" >"$out" 2>"$work/err"; then
    echo "$t: $(grep -c '^kind:' "$out") objects"
    pass
  else
    cat "$work/err" >&2
    fail "$t does not render"
  fi
done

# -- 2. schemas
echo "== schema validation (kubernetes-models)"
for out in "$work"/deploy_*.yaml; do
  echo -n "$(basename "$out" .yaml | tr _ / ): "
  if node tests/deploy/validate.mjs "$out"; then pass; else fail "$out has invalid objects"; fi
done
rejected=0
for bad in tests/deploy/invalid/*.yaml; do
  if node tests/deploy/validate.mjs "$bad" >/dev/null 2>&1; then
    fail "$bad was accepted; it must be rejected"
  else
    rejected=$((rejected + 1))
    pass
  fi
done
echo "tests/deploy/invalid: $rejected of $(ls tests/deploy/invalid/*.yaml | wc -l) rejected, as they must be"

# -- 3. the PrometheusRule follows the rule file
echo "== PrometheusRule up to date"
node tests/deploy/prometheusrule.mjs >"$work/prometheusrule.yaml"
if diff -u deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml "$work/prometheusrule.yaml"; then
  echo "deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml matches deploy/prometheus/rules.yaml"
  pass
else
  fail "prometheusrule.yaml is stale: node tests/deploy/prometheusrule.mjs > deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml"
fi

# -- 4. promtool
echo "== promtool"
if promtool check rules deploy/prometheus/rules.yaml; then pass; else fail "promtool check rules deploy/prometheus/rules.yaml"; fi
if promtool test rules deploy/prometheus/rules.test.yaml; then pass; else fail "promtool test rules deploy/prometheus/rules.test.yaml"; fi
for dash in deploy/grafana/*.json; do
  if node tests/deploy/dashboard-rules.mjs "$dash" >"$work/dashboard-rules.yaml"; then
    echo "$dash: queries as recording rules:"
    if promtool check rules "$work/dashboard-rules.yaml"; then pass; else fail "$dash has queries promtool rejects"; fi
  else
    fail "$dash"
  fi
done
# The check must reject a query that does not parse.
printf '{"panels":[{"id":1,"type":"timeseries","title":"broken","datasource":{"uid":"${datasource}"},"targets":[{"refId":"A","expr":"sum(rate(lsr_delivered_events_total[$__rate_interval])"}]}]}' >"$work/broken.json"
node tests/deploy/dashboard-rules.mjs "$work/broken.json" >"$work/broken-rules.yaml"
if promtool check rules "$work/broken-rules.yaml" >/dev/null 2>&1; then
  fail "a dashboard query that does not parse was accepted"
else
  echo "a dashboard query that does not parse is rejected, as it must be"
  pass
fi

# -- 5. metric names
echo "== metric names"
# Metrics the rules and dashboard use before the relay exports them: the relay is to add them
# under exactly these names. Remove a name from here once the relay exports it.
pending=""
exported=$(grep -rhoE '"(lsr|process)_[a-z0-9_]+"' server app core --include='*.cpp' | tr -d '"' | sort -u)
used=$(cat deploy/prometheus/rules.yaml deploy/grafana/*.json | grep -oE '\b(lsr|process)_[a-z0-9_]+' \
  | sed -E 's/_(bucket|sum|count)$//' | sort -u)
for m in $used; do
  if grep -qx "$m" <<<"$exported"; then continue; fi
  if grep -qw "$m" <<<"$pending"; then echo "note: $m is not exported by the relay yet"; continue; fi
  fail "$m is used in deploy/ but the relay exports no such metric"
done
for m in $pending; do
  grep -qx "$m" <<<"$exported" && echo "note: $m is exported now: remove it from the pending list"
done
echo "$(wc -w <<<"$used") lsr_* and process_* metric names used"
pass

# -- 6. the ConfigMaps' relay.yaml files, checked by the relay itself when it has been built
# (.ci/run builds it first); skipped otherwise.
echo "== check-config"
relay="${LSR_BINARY:-build/app/looker-segment-relay}"
if [ -x "$relay" ]; then
  for cfg in deploy/kubernetes/base/relay.yaml deploy/kubernetes/overlays/*/relay.yaml; do
    if env -u RELAY_HUB_SECRET -u RELAY_SEGMENT_WRITE_KEY "$relay" check-config "$cfg"; then pass; else fail "$cfg"; fi
  done
else
  echo "skipped: no $relay (build it, or set LSR_BINARY)"
fi

echo "== $(( $(date +%s) - started )) s"
echo "check-deploy: $passes passed, $failures failed"
[ "$failures" = 0 ]
