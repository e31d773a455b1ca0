#!/usr/bin/env bash
# Installs what building and testing Myelin needs beyond the Swift toolchain, only when it is missing:
# OpenBLAS (CBLAS headers and library) and zlib on Debian/Ubuntu, Open MPI (mpirun and libmpi, which
# Myelin opens at run time for `mpirun -np N myelin train`; the package builds without it), and, with --browser (`make test`), Chromium
# with its chromedriver for the browser tests (MyelinBrowserTests; they report themselves skipped without
# them); `make demo` does not need a browser and does not install one. A browser chosen through
# MYELIN_CHROMIUM / MYELIN_CHROMEDRIVER counts as present. macOS uses Accelerate and its zlib; install
# Chromium and chromedriver there yourself if you want the browser tests.
set -euo pipefail

if [ "$(uname -s)" = "Darwin" ]; then
    exit 0
fi

have_header() { echo "#include <$1>" | cc -E -x c - >/dev/null 2>&1; }
have_lib() { ldconfig -p 2>/dev/null | grep -q "lib$1\.so" || [ -e "/usr/lib/x86_64-linux-gnu/lib$1.so" ] || [ -e "/usr/lib/aarch64-linux-gnu/lib$1.so" ]; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }

browser=0
[ "${1:-}" = "--browser" ] && browser=1

missing=()
{ have_header cblas.h && have_lib openblas; } || missing+=(libopenblas-dev)
{ have_header zlib.h && have_lib z; } || missing+=(zlib1g-dev)
have_cmd mpirun || missing+=(openmpi-bin)
{ [ -e /usr/lib/x86_64-linux-gnu/libmpi.so.40 ] || [ -e /usr/lib/aarch64-linux-gnu/libmpi.so.40 ] || ldconfig -p 2>/dev/null | grep -q 'libmpi\.so\.40'; } || missing+=(libopenmpi-dev)
[ $browser -eq 0 ] || { [ -n "${MYELIN_CHROMIUM:-}" ] || [ -x /usr/lib/chromium/chromium ] || have_cmd chromium || have_cmd chromium-browser; } || missing+=(chromium)
[ $browser -eq 0 ] || { [ -n "${MYELIN_CHROMEDRIVER:-}" ] || [ -x /usr/lib/chromium/chromedriver ] || have_cmd chromedriver; } || missing+=(chromium-driver)

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
    echo "error: apt-get not found; install ${missing[*]} (OpenBLAS, zlib and Open MPI development files, Chromium and chromedriver) by hand" >&2
    exit 1
fi
$SUDO apt-get update -qq
# Ubuntu names the browser packages chromium-browser and chromium-chromedriver.
if ! apt-cache show chromium-driver >/dev/null 2>&1 && apt-cache show chromium-chromedriver >/dev/null 2>&1; then
    for i in "${!missing[@]}"; do
        case "${missing[$i]}" in
            chromium) missing[$i]=chromium-browser ;;
            chromium-driver) missing[$i]=chromium-chromedriver ;;
        esac
    done
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed ${missing[*]}"
