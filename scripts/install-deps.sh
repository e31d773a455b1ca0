#!/usr/bin/env bash
# Installs what building Myelin needs beyond the Swift toolchain, only when it is missing:
# OpenBLAS (CBLAS headers and library) and zlib on Debian/Ubuntu. macOS uses Accelerate and its zlib.
set -euo pipefail

if [ "$(uname -s)" = "Darwin" ]; then
    exit 0
fi

have_header() { echo "#include <$1>" | cc -E -x c - >/dev/null 2>&1; }
have_lib() { ldconfig -p 2>/dev/null | grep -q "lib$1\.so" || [ -e "/usr/lib/x86_64-linux-gnu/lib$1.so" ] || [ -e "/usr/lib/aarch64-linux-gnu/lib$1.so" ]; }

missing=()
{ have_header cblas.h && have_lib openblas; } || missing+=(libopenblas-dev)
{ have_header zlib.h && have_lib z; } || missing+=(zlib1g-dev)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "installing ${missing[*]} ..."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "error: need root or sudo to install ${missing[*]} (apt-get install ${missing[*]})" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install ${missing[*]} (OpenBLAS and zlib development files) by hand" >&2
    exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed ${missing[*]}"
