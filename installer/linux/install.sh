#!/bin/sh
# Install CareNet Desktop from this unpacked folder: for you (~/.local, no root needed) or, with --system,
# for everyone (/opt, needs root). Adds the menu entry and icon; re-running updates the installation.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--system" ]; then
  prefix=/opt/CareNetDesktop; apps=/usr/share/applications; icons=/usr/share/icons/hicolor/256x256/apps; bin=/usr/local/bin
else
  prefix="$HOME/.local/opt/CareNetDesktop"; apps="$HOME/.local/share/applications"
  icons="$HOME/.local/share/icons/hicolor/256x256/apps"; bin="$HOME/.local/bin"
fi
mkdir -p "$prefix" "$apps" "$icons" "$bin"
if [ "$here" != "$prefix" ]; then
  rm -rf "$prefix.new" && cp -a "$here" "$prefix.new" && rm -rf "$prefix" && mv "$prefix.new" "$prefix"
fi
sed "s|^Exec=CareNetDesktop|Exec=\"$prefix/CareNetDesktop\"|" "$prefix/carenet-desktop.desktop" > "$apps/carenet-desktop.desktop"
cp "$prefix/carenet-desktop.png" "$icons/carenet-desktop.png"
ln -sf "$prefix/carenet" "$bin/carenet"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" >/dev/null 2>&1 || true
echo "CareNet Desktop installed in $prefix (menu entry added; command line: $bin/carenet)"
