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
source "$root/scripts/protoc-swift.sh"
protos="${USP_PROTOS:-$root/../shared/specs/usp}"
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if [ ! -f "$protos/usp-record-1-4.proto" ] || [ ! -f "$protos/usp-msg-1-4.proto" ]; then
  echo "[generate-usp] USP protos not found in $protos (set USP_PROTOS to the folder with usp-record-1-4.proto and usp-msg-1-4.proto)" >&2
  exit 1
fi

tf_generate_swift generate-usp "$root/Shared/USPCodec/Generated" "$protos" "$check" \
  "$protos/usp-record-1-4.proto" "$protos/usp-msg-1-4.proto"
