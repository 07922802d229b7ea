# Helpers shared by the bench/ scripts. Source it; it is not meant to run on its own.
# shellcheck shell=bash

# Runs a command as root: the scripts install Debian packages, and a developer
# machine may not be logged in as root.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# Installs the given Debian packages unless each is already installed. The
# package index is refreshed first because a fresh machine has none, and
# `apt-get install` then finds nothing.
apt_ensure() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "bench: installing ${missing[*]}" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Prints the path of a real ImageMagick `mogrify`. `convert`/`mogrify` on PATH
# may be a stand-in that is not ImageMagick (this workplace ships one for
# `convert`), and IM7 names the tool `magick mogrify`, so we look for the
# versioned IM6 binary Debian installs first and check what answers.
find_mogrify() {
    local cand
    for cand in /usr/bin/mogrify-im6.q16 /usr/bin/mogrify-im6.q16hdri mogrify; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -version 2>/dev/null | grep -q ImageMagick; then
            command -v "$cand"
            return 0
        fi
    done
    if command -v magick >/dev/null 2>&1 && magick -version 2>/dev/null | grep -q ImageMagick; then
        echo "magick mogrify"
        return 0
    fi
    return 1
}

# Same as find_mogrify, for `convert`.
find_convert() {
    local cand
    for cand in /usr/bin/convert-im6.q16 /usr/bin/convert-im6.q16hdri convert; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -version 2>/dev/null | grep -q ImageMagick; then
            command -v "$cand"
            return 0
        fi
    done
    if command -v magick >/dev/null 2>&1 && magick -version 2>/dev/null | grep -q ImageMagick; then
        command -v magick
        return 0
    fi
    return 1
}

# busy_pct: the share of all CPU time that was not idle over the next 2 s, in percent.
busy_pct() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    sleep 2
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]
        printf "%.0f", (t > 0 ? 100 * (1 - (y[2] - x[2]) / t) : 0) }'
}

# wait_quiet NAME: with WAIT_QUIET=SECONDS, waits up to that long for the machine to be
# idle (under 10 % busy three times in a row) before measuring: a cargo build alongside
# skews every wall-time figure. NAME prefixes the warning when it never goes quiet.
wait_quiet() {
    [ "${WAIT_QUIET:-0}" -gt 0 ] || return 0
    local deadline=$((SECONDS + WAIT_QUIET)) calm=0
    while [ "$calm" -lt 3 ] && [ "$SECONDS" -lt "$deadline" ]; do
        if [ "$(busy_pct)" -lt 10 ]; then calm=$((calm + 1)); else calm=0; sleep 3; fi
    done
    [ "$calm" -ge 3 ] || echo "$1: WARNING: the machine did not go quiet in ${WAIT_QUIET} s" >&2
}

# rustc_running: how many rustc processes are running (another build skews timings).
rustc_running() { pgrep -xc rustc || true; }
