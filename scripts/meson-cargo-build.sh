#!/bin/bash
# meson-cargo-build.sh CARGO SOURCE_ROOT TARGET_DIR PROFILE PACKAGE OUTPUT
# Builds PACKAGE's library with cargo and copies it to OUTPUT, where meson expects it.
set -euo pipefail
cargo=$1 src=$2 target=$3 profile=$4 package=$5 output=$6
"$cargo" build --locked --manifest-path "$src/Cargo.toml" --target-dir "$target" \
  --profile "$profile" -p "$package"
dir=$profile
[ "$profile" = dev ] && dir=debug
cp "$target/$dir/$(basename "$output")" "$output"
