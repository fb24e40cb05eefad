# Sourced by instructions.sh and requests.sh: builds PRODUCT in release and copies it, with the
# shared libraries it loads, into $work without debug information (valgrind 3.19 cannot read
# the DWARF 5 that Swift 6.3 writes); `instructions PROGRAM-ARGUMENTS...` then prints what
# one run executes, counted by cachegrind.
#   source valgrind-ready.sh PRODUCT
product=$1
cd "$(dirname "${BASH_SOURCE[0]}")"
swift build -c release --product "$product" >/dev/null
binary=$(swift build -c release --show-bin-path)/$product
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/$product"
ldd "$binary" | awk '/=>/ {print $3}' | grep -vE '/libc\.so|/libm\.so|/libpthread|/ld-linux' | while read -r library; do cp "$library" "$work/"; done
strip -g "$work"/* 2>/dev/null || true

instructions() {
    LD_LIBRARY_PATH="$work" valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$work/$product" "$@" 2>&1 | awk '/I *refs:/ {gsub(",", "", $NF); print $NF}'
}
