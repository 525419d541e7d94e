# Sourced by check.sh and nvenc.sh: the bundle's libraries and plugins, the driver's
# EGL vendor file and GBM backend where the machine has them. Needs B (the bundle).
drv=$(ls -d /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu 2>/dev/null | tr '\n' ':')
echo "driver lib dirs: $drv"
find /usr /etc \( -name 'nvidia-drm_gbm.so*' -o -name 'libnvidia-egl-wayland.so*' -o -name '10_nvidia.json' \
  -o -name '*nvidia*wayland*.json' -o -name 'libEGL_nvidia.so*' -o -name 'libnvidia-encode.so*' \
  -o -name 'libnvidia-egl-gbm.so*' \) 2>/dev/null | grep -v "^$B" | head -20
first() { find /usr /etc -name "$1" -not -path "$B/*" 2>/dev/null | head -1; }
gbm=$(first 'nvidia-drm_gbm.so'); gbm=${gbm%/*}
vendor=$(first '10_nvidia.json')
ext=$(first '*nvidia*wayland*.json'); ext=${ext%/*}
export LD_LIBRARY_PATH="$B/lib:$drv"
export GST_PLUGIN_SYSTEM_PATH="$B/plugins" GST_PLUGIN_PATH= GST_PLUGIN_SCANNER="$B/bin/gst-plugin-scanner"
export GST_REGISTRY=/tmp/gwd-registry.bin XKB_CONFIG_ROOT="$B/share/xkb" PATH="$B/bin:$PATH"
[ -n "$gbm" ] && export GBM_BACKENDS_PATH="$gbm"
[ -n "$vendor" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$vendor"
[ -n "$ext" ] && export __EGL_EXTERNAL_PLATFORM_CONFIG_DIRS="$ext"
export XDG_RUNTIME_DIR=/tmp/gwd-xdg; mkdir -p -m 0700 $XDG_RUNTIME_DIR
