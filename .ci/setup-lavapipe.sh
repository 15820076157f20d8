#!/usr/bin/env bash
# Sets up lavapipe (Mesa's CPU Vulkan driver) in a private folder so WebGPU runs without a GPU:
# Deno's built-in WebGPU and Dawn (the `webgpu` npm package used on Node and Bun) both need a Vulkan
# loader and driver, and Dawn rejects Debian 12's Mesa 22, so Mesa comes from <codename>-backports.
#
# Nothing is installed into the system and the system's apt sources are left alone: apt reads a
# private sources list (mirror and keyring taken from the system's own sources) with private list
# and cache folders, and the .debs are unpacked with `dpkg -x` into the folder.
#
# Usage:  eval "$(bash .ci/setup-lavapipe.sh [DIR])"     # or: bash .ci/setup-lavapipe.sh; . DIR/env.sh
# DIR defaults to $YARNIFY_LAVAPIPE_DIR or ~/.cache/yarnify/lavapipe. A second run reuses what is there.
# stdout carries only the `export` lines; progress goes to stderr.
set -euo pipefail

dir=${1:-${YARNIFY_LAVAPIPE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/yarnify/lavapipe}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
root=$dir/root
env_file=$dir/env.sh
log() { echo "setup-lavapipe: $*" >&2; }
die() { echo "setup-lavapipe: error: $*" >&2; exit 1; }

lvp_of_icd() { sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$dir/lvp_icd.json" 2>/dev/null; }
if [ -f "$env_file" ] && [ -f "$dir/.complete" ] && [ -f "$(lvp_of_icd)" ]; then
  log "already set up in $dir"
  cat "$env_file"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian-based systems only"
. /etc/os-release
codename=${VERSION_CODENAME:?/etc/os-release has no VERSION_CODENAME}
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine 2>/dev/null || echo "$(uname -m)-linux-gnu")

# The mirror and keyring of the system's main suite, from deb822 .sources files or the one-line list.
mirror=""
keyring=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  read -r mirror keyring < <(awk -v suite="$codename" '
    function flush() { if (ok && uri != "" && !done) { print uri, key; done = 1 } ok = 0; uri = ""; key = "" }
    /^[[:space:]]*$/ { flush(); next }
    /^URIs:/ { uri = $2 }
    /^Signed-By:/ { key = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
    END { flush() }' "$f") || true
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk -v suite="$codename" '$1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i + 1) == suite) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || die "no '$codename' mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
[ -n "$keyring" ] && [ -f "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
log "mirror $mirror ($codename, $codename-backports), keyring $keyring"

apt_dir=$dir/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/sources.list.d" "$apt_dir/cache/archives/partial" "$dir/debs"
cat >"$apt_dir/sources.list" <<EOF
deb [signed-by=$keyring] $mirror $codename main
deb [signed-by=$keyring] $mirror $codename-backports main
EOF
apt_opts=(-o APT::Sandbox::User=root -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Architecture=$arch")
apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update with the private sources list failed"

# What backports' Mesa needs that the system lacks or has too old (libdrm2, libvulkan1 on a bare system, ...).
wanted=("mesa-vulkan-drivers/$codename-backports")
depends=$(apt-cache "${apt_opts[@]}" show "mesa-vulkan-drivers/$codename-backports" | awk -F': ' '/^Depends:/ { print $2; exit }')
[ -n "$depends" ] || die "mesa-vulkan-drivers not found in $codename-backports"
IFS=',' read -ra deps <<<"$depends"
for dep in "${deps[@]}"; do
  dep=${dep%%|*}
  name=$(awk '{ print $1 }' <<<"$dep")
  op=$(sed -n 's/.*(\([<>=]*\) *\([^)]*\)).*/\1/p' <<<"$dep")
  ver=$(sed -n 's/.*(\([<>=]*\) *\([^)]*\)).*/\2/p' <<<"$dep")
  have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null | awk '$3 == "installed" { print $4 }') || true
  if [ -n "$have" ] && { [ -z "$op" ] || dpkg --compare-versions "$have" "$op" "$ver"; }; then continue; fi
  if [[ $(apt-cache "${apt_opts[@]}" madison "$name") == *" $codename-backports/"* ]]; then
    wanted+=("$name/$codename-backports")
  else
    wanted+=("$name")
  fi
done
log "downloading ${wanted[*]}"
(cd "$dir/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -qq download "${wanted[@]}" >&2) || die "apt-get download failed"

rm -rf "$root"
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$root"; done

libdir=$root/usr/lib/$multiarch
lvp=$libdir/libvulkan_lvp.so
[ -f "$lvp" ] || die "the extracted Mesa has no $lvp"
icd_src=$(ls "$root"/usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n1)
[ -n "$icd_src" ] || die "the extracted Mesa has no lvp_icd*.json"
# The ICD names its driver by an absolute system path; point it at the extracted copy instead.
sed -E "s#\"library_path\"[[:space:]]*:[[:space:]]*\"[^\"]*\"#\"library_path\": \"$lvp\"#" "$icd_src" >"$dir/lvp_icd.json"

# The loader itself comes from the system when installed, else from the folder.
missing=$(LD_LIBRARY_PATH=$libdir ldd "$lvp" | awk '/not found/ { print $1 }')
[ -z "$missing" ] || die "libvulkan_lvp.so still misses: $missing"
if [ ! -e "$libdir/libvulkan.so.1" ] && ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
  die "no Vulkan loader (libvulkan.so.1) in the system or in $libdir"
fi

cat >"$env_file" <<EOF
export LD_LIBRARY_PATH="$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export VK_ICD_FILENAMES="$dir/lvp_icd.json"
export VK_DRIVER_FILES="$dir/lvp_icd.json"
EOF
touch "$dir/.complete"
log "ready: Mesa $(dpkg-deb -f "$dir"/debs/mesa-vulkan-drivers_*.deb Version) in $dir"
cat "$env_file"
