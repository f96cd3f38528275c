#!/bin/sh
# Builds the Baton test guest (guest/baton-guest.asm, a multiboot kernel) into guest/build/baton-guest.bin.
# Needs nasm (scripts/install-qemu-deps.sh installs it). Rebuilds only when a source is newer than the image.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/guest"
out="$src/build/baton-guest.bin"
mkdir -p "$src/build"
if [ -f "$out" ] && [ -z "$(find "$src" -maxdepth 1 -newer "$out" \( -name '*.asm' -o -name '*.inc' \))" ]; then
  echo "guest up to date: $out"
  exit 0
fi
tmp="$out.tmp.$$"
nasm -f bin -I "$src/" -o "$tmp" "$src/baton-guest.asm"
mv -f "$tmp" "$out"
echo "built $out ($(wc -c < "$out") bytes)"
