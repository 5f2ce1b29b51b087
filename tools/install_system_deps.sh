#!/usr/bin/env bash
# Install the Debian packages the project needs, if any are missing.
#   EGL + Mesa: MuJoCo's headless rendering (MUJOCO_GL=egl) for frames and videos.
#   python3-venv: creating .venv.
set -euo pipefail
packages=(libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libglvnd0 libopengl0 python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$package")
done
# python3-venv only matters if the interpreter cannot make a venv by itself.
if python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep . || true))
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
elif command -v sudo >/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "missing Debian packages and no root: apt-get install ${missing[*]}" >&2
  exit 1
fi
