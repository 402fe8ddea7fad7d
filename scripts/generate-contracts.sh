#!/usr/bin/env bash
# Regenerates Shared/BusContracts/Generated/*.pb.swift from Shared/BusContracts/Protos/*.proto.
# The generated Swift is committed, so CI and ordinary builds never need protoc or the plugin;
# run this after editing a .proto and commit both.
#
#   scripts/generate-contracts.sh          regenerate
#   scripts/generate-contracts.sh --check  fail if the committed files are out of date
#
# protoc-gen-swift comes from $PROTOC_GEN_SWIFT, or is built from this package's swift-protobuf
# dependency (so its version always matches the runtime library the generated code checks).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/protoc-swift.sh"
protos="$root/Shared/BusContracts/Protos"
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

tf_generate_swift generate-contracts "$root/Shared/BusContracts/Generated" "$protos" "$check" "$protos"/*.proto
