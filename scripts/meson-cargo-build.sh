#!/bin/bash
# meson-cargo-build.sh CARGO SOURCE_ROOT TARGET_DIR PROFILE ALL OUTPUT…
# Builds the plugin and the binary with cargo and copies each OUTPUT (a path whose file
# name is the artifact's) where meson expects it. ALL=true builds the whole workspace with
# all targets, as scripts/cargo-build.sh does, so that an existing target dir is reused
# as it is instead of being rebuilt with other features.
set -euo pipefail
cargo=$1 src=$2 target=$3 profile=$4 all=$5
shift 5
if [ "$all" = true ]; then
  selection=(--workspace --all-targets)
else
  selection=(-p gst-plugin-wayland-display -p gst-wayland-display)
fi
"$cargo" build --locked --manifest-path "$src/Cargo.toml" --target-dir "$target" \
  --profile "$profile" "${selection[@]}"
dir=$profile
[ "$profile" = dev ] && dir=debug
for output in "$@"; do
  cp "$target/$dir/$(basename "$output")" "$output"
done
