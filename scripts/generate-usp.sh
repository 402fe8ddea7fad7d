#!/usr/bin/env bash
# Regenerates Shared/USPCodec/Generated/*.pb.swift from the Broadband Forum's TR-369 protos
# (usp-record-1-4.proto, usp-msg-1-4.proto in ../shared/specs/usp next to the repository).
# The generated Swift is committed, so CI and ordinary builds never need protoc or the plugin;
# run this when the USP protos change and commit the result.
#
#   scripts/generate-usp.sh          regenerate
#   scripts/generate-usp.sh --check  fail if the committed files are out of date
#
# The protos come from $USP_PROTOS (default ../shared/specs/usp). protoc-gen-swift comes from
# $PROTOC_GEN_SWIFT, or is built from this package's swift-protobuf dependency (so its version
# always matches the runtime library the generated code checks).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
protos="${USP_PROTOS:-$root/../shared/specs/usp}"
generated="$root/Shared/USPCodec/Generated"
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

log() { printf '\033[1m[generate-usp]\033[0m %s\n' "$*" >&2; }

if [ ! -f "$protos/usp-record-1-4.proto" ] || [ ! -f "$protos/usp-msg-1-4.proto" ]; then
  log "USP protos not found in $protos (set USP_PROTOS to the folder with usp-record-1-4.proto and usp-msg-1-4.proto)"
  exit 1
fi

if ! command -v protoc >/dev/null 2>&1; then
  log "protoc not found; install it with: sudo apt-get install protobuf-compiler"
  exit 1
fi

plugin="${PROTOC_GEN_SWIFT:-}"
if [ -z "$plugin" ]; then
  log "building protoc-gen-swift (swift build -c release --product protoc-gen-swift)"
  (cd "$root" && swift build -c release --product protoc-gen-swift >&2)
  plugin="$(cd "$root" && swift build -c release --show-bin-path)/protoc-gen-swift"
fi
if [ ! -x "$plugin" ]; then
  log "protoc-gen-swift not found or not executable at $plugin"
  exit 1
fi

# The generated code refuses to compile against a different SwiftProtobuf major/minor; say so
# here rather than in a build error.
wanted="$(sed -n '/"identity" : "swift-protobuf"/,/"version"/s/.*"version" : "\(.*\)".*/\1/p' "$root/Package.resolved" 2>/dev/null || true)"
have="$("$plugin" --version | awk '{print $NF}')"
if [ -n "$wanted" ] && [ "$wanted" != "$have" ]; then
  log "warning: protoc-gen-swift is $have but Package.resolved pins swift-protobuf $wanted"
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Public visibility: usp-ingress and the tests build and read Usp_*/UspRecord_* values directly.
protoc \
  --plugin=protoc-gen-swift="$plugin" \
  --proto_path="$protos" \
  --swift_out="$out" \
  --swift_opt=Visibility=Public \
  "$protos/usp-record-1-4.proto" "$protos/usp-msg-1-4.proto"

if $check; then
  if diff -r "$out" "$generated" >/dev/null; then
    log "generated Swift is up to date ($(ls "$out" | wc -l) files, protoc-gen-swift $have)"
  else
    diff -ru "$generated" "$out" >&2 || true
    log "generated Swift is out of date: run scripts/generate-usp.sh and commit the result"
    exit 1
  fi
else
  mkdir -p "$generated"
  rm -f "$generated"/*.pb.swift
  cp "$out"/*.pb.swift "$generated"/
  log "wrote $(ls "$out" | wc -l) files to ${generated#"$root"/} with protoc-gen-swift $have"
fi
