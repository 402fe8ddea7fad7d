# Shared by generate-contracts.sh and generate-usp.sh (sourced, not run).
#
# tf_generate_swift NAME GENERATED_DIR PROTO_PATH CHECK PROTO_FILES...
#   Runs protoc with protoc-gen-swift (public visibility) over PROTO_FILES and either replaces
#   the *.pb.swift files in GENERATED_DIR (CHECK=false) or fails when they differ (CHECK=true).
#   protoc-gen-swift comes from $PROTOC_GEN_SWIFT, or is built from this package's swift-protobuf
#   dependency, so its version matches the runtime library the generated code checks.
tf_generate_swift() {
  local name="$1" generated="$2" proto_path="$3" check="$4"; shift 4
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  log() { printf '\033[1m[%s]\033[0m %s\n' "$name" "$*" >&2; }

  if ! command -v protoc >/dev/null 2>&1; then
    log "protoc not found; install it with: sudo apt-get install protobuf-compiler"
    return 1
  fi
  local plugin="${PROTOC_GEN_SWIFT:-}"
  if [ -z "$plugin" ]; then
    log "building protoc-gen-swift (swift build -c release --product protoc-gen-swift)"
    (cd "$root" && swift build -c release --product protoc-gen-swift >&2)
    plugin="$(cd "$root" && swift build -c release --show-bin-path)/protoc-gen-swift"
  fi
  if [ ! -x "$plugin" ]; then
    log "protoc-gen-swift not found or not executable at $plugin"
    return 1
  fi

  # The generated code refuses to compile against a different SwiftProtobuf major/minor; say so
  # here rather than in a build error.
  local wanted have
  wanted="$(sed -n '/"identity" : "swift-protobuf"/,/"version"/s/.*"version" : "\(.*\)".*/\1/p' "$root/Package.resolved" 2>/dev/null || true)"
  have="$("$plugin" --version | awk '{print $NF}')"
  if [ -n "$wanted" ] && [ "$wanted" != "$have" ]; then
    log "warning: protoc-gen-swift is $have but Package.resolved pins swift-protobuf $wanted"
  fi

  local out; out="$(mktemp -d)"
  # Public visibility: services and tests build and read the generated values directly.
  if ! protoc --plugin=protoc-gen-swift="$plugin" --proto_path="$proto_path" --swift_out="$out" \
      --swift_opt=Visibility=Public "$@"; then
    rm -rf "$out"
    return 1
  fi
  local count; count="$(ls "$out" | wc -l)"
  if $check; then
    if diff -r "$out" "$generated" >/dev/null; then
      log "generated Swift is up to date ($count files, protoc-gen-swift $have)"
    else
      diff -ru "$generated" "$out" >&2 || true
      log "generated Swift is out of date: run scripts/$name.sh and commit the result"
      rm -rf "$out"
      return 1
    fi
  else
    mkdir -p "$generated"
    rm -f "$generated"/*.pb.swift
    cp "$out"/*.pb.swift "$generated"/
    log "wrote $count files to ${generated#"$root"/} with protoc-gen-swift $have"
  fi
  rm -rf "$out"
}
