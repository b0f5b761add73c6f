#!/usr/bin/env bash
# Flash, RAM and instructions per inference of the firmware example (Cortex-M3, and Cortex-M4F
# under QEMU mps2-an386 with and without the SMLAD kernels): the original-size
# ANGraph-L (5 layers, width 100, head 200/100, int16) on a 4x4 mesh stream (capacity 257
# components, 512 pairs), its `energy` variant that adds the original ANGraph-P, its `trained`
# variant that runs the trained ANGraph-L instead of the placeholder, and its `estimate` variant
# that runs the recommended ANGraph-L and ANGraph-P (saved_model/angraph_l, angraph_p) with their
# 90 % intervals and envelope checks on one window.
#
#   angraph-embed/report.sh              # both variants under QEMU
#   angraph-embed/report.sh --callgrind  # also x86-64 instructions of one host prediction
#
# Flash = .vector_table + .text + .rodata + .data (load image); RAM = .data + .bss (static, the
# arena included) + peak stack (painted at start-up, high-water mark read back under QEMU).
# Instructions: QEMU runs with `-icount shift=0` (one instruction = one virtual ns); the firmware
# reads SysTick (25 MHz on mps2-an385) around each phase and calibrates ticks against a loop of
# exactly 2,000,000 instructions, so instructions = ticks * 2e6 / calib_ticks.
# The C firmware (firmware/c) is reported too. Needs: qemu-system-arm, arm-none-eabi-gcc and
# arm-none-eabi-size (gcc-arm-none-eabi), the thumbv7m-none-eabi
# and thumbv7em-none-eabihf targets (scripts/setup.sh installs them all); valgrind for --callgrind.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
fw_target="$target/firmware"
callgrind=0
[ "${1:-}" = "--callgrind" ] && callgrind=1

for tool in qemu-system-arm arm-none-eabi-size; do
    command -v "$tool" >/dev/null || { echo "report.sh: $tool not found (run scripts/setup.sh)" >&2; exit 2; }
done

kib() { awk -v b="$1" 'BEGIN { printf "%7d B = %6.1f KiB", b, b / 1024 }'; }
section() { awk -v s="$1" '$1 == s { print $2 }' <<<"$2"; }
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# report_variant FEATURES LABEL FLASH_BUDGET_KIB [m4]: build the firmware with FEATURES (for the
# Cortex-M4F, thumbv7em-none-eabihf on QEMU's mps2-an386, when the fourth argument is m4), run it
# under QEMU and print its memory and instruction figures.
report_variant() {
    local features="$1" label="$2" flash_budget="$3" core="${4:-m3}"
    local triple=thumbv7m-none-eabi machine=mps2-an385 cpu=cortex-m3
    if [ "$core" = m4 ]; then
        triple=thumbv7em-none-eabihf machine=mps2-an386 cpu=cortex-m4
    fi
    (cd "$here/firmware" && cargo build --quiet --release --target "$triple" --features "$features" --target-dir "$fw_target")
    local elf="$fw_target/$triple/release/angraph-firmware"
    local sizes out
    sizes="$(arm-none-eabi-size -A "$elf")"
    out="$(qemu-system-arm -machine "$machine" -cpu "$cpu" -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" 2>&1)"
    grep -q '^done' <<<"$out" || { echo "firmware did not finish:"; echo "$out"; exit 1; }
    local vt text rodata data bss
    vt=$(section .vector_table "$sizes"); text=$(section .text "$sizes")
    rodata=$(section .rodata "$sizes"); data=$(section .data "$sizes"); bss=$(section .bss "$sizes")
    local flash=$((vt + text + rodata + data))
    local stat sinit speak stack
    stat=$(field static_ram "$out"); sinit=$(field stack_init "$out"); speak=$(field stack_peak "$out")
    stack=$(( sinit > speak ? sinit : speak ))
    local ram=$((stat + stack))
    local ct ti ts tp hops nodes edges
    ct=$(field calib_ticks "$out"); ti=$(field ticks_init "$out"); ts=$(field ticks_stream "$out")
    tp=$(field ticks_predict "$out"); hops=$(field hops "$out")
    nodes=$(field nodes "$out"); edges=$(field edges "$out")
    insn() { awk -v t="$1" -v c="$ct" 'BEGIN { printf "%.0f", t * 2000000 / c }'; }
    local lat stream
    local lat_file=latency.angq
    [ "$features" = trained ] && lat_file=trained_latency.angq
    case "$features" in estimate*) lat_file=angraph_l.angq ;; esac
    lat=$(stat -c %s "$here/firmware/fixtures/$lat_file")
    stream=$(stat -c %s "$here/firmware/fixtures/stream.angs")
    echo "== $label ($triple on $machine, $(head -1 <<<"$out" | sed 's/^angraph-firmware: //'); cargo build --release --target $triple --features '$features')"
    echo "flash (text + rodata + data + vectors): $(kib $flash)   budget $flash_budget KiB"
    echo "  .text (code)                         $(kib $text)"
    echo "  .rodata                              $(kib $rodata)"
    echo "    of which $lat_file (ANGraph-L)  $(kib $lat)"
    echo "    of which stream.angs (example)     $(kib $stream)"
    if [ "$features" = energy ]; then
        echo "    of which power.angq (ANGraph-P)    $(kib "$(stat -c %s "$here/firmware/fixtures/power.angq")")"
    fi
    case "$features" in estimate*)
        echo "    of which angraph_p.angq (ANGraph-P) $(kib "$(stat -c %s "$here/firmware/fixtures/angraph_p.angq")")" ;;
    esac
    echo "RAM (static + peak stack):             $(kib $ram)   budget 128 KiB${ram_note:-}"
    echo "  static .data + .bss                  $(kib $stat)   (arena $(grep -o 'arena [0-9]*' <<<"$out" | awk '{print $2}') B)"
    echo "  peak stack                           $(kib $stack)   (latency model load $sinit B; afterwards, streaming + energy + predict $(field stack_predict "$out") B)"
    echo "instructions (QEMU -icount, SysTick calibration $ct ticks / 2e6 insns):"
    echo "  model load + arena carve             $(insn "$ti")"
    echo "  stream: $hops hops                   $(insn "$ts")  ($(awk -v a="$(insn "$ts")" -v h="$hops" 'BEGIN{printf "%.0f", a/h}') per hop)"
    echo "  predict (graph $nodes nodes / $edges edges) $(insn "$tp")  per inference"
    case "$features" in energy | estimate*)
        echo "  ANGraph-P load + predict             $(insn "$(field ticks_energy "$out")")" ;;
    esac
    case "$features" in *dsp*)
        echo "  DSP kernels vs portable loops on the chip: $(field check_dsp_kernel "$out") mismatches" ;;
    esac
    echo "  latency_raw=$(field latency_raw "$out") (2^-$(field latency_frac_bits "$out"))"
    echo
}

report_variant "" "ANGraph-L at 4x4 (the 256 KiB flash / 128 KiB RAM budget build)" 256
report_variant "energy" "ANGraph-L + original ANGraph-P (energy variant)" 512
report_variant "trained" "trained ANGraph-L (saved_model/latency_digits_4x4_to_tsmc28, width 32) at 4x4" 256
ram_note="; estimate target: flash <= 192 KiB, static <= 112 KiB" \
    report_variant "estimate" "recommended ANGraph-L + ANGraph-P with intervals and envelope (estimate variant)" 256
# Cortex-M4F: the portable path, then the SMLAD kernels (feature dsp), at both model sizes.
report_variant "" "ANGraph-L at 4x4, original size, portable kernels" 256 m4
report_variant "dsp" "ANGraph-L at 4x4, original size, SMLAD kernels" 256 m4
report_variant "estimate" "estimate variant, portable kernels" 256 m4
report_variant "estimate,dsp" "estimate variant, SMLAD kernels" 256 m4

# The C firmware (firmware/c/main.c through include/angraph.h and the thumbv7m staticlib).
report_c() {
    local dir="$target/firmware-c"
    (cd "$root" && cargo build --quiet --release -p angraph-embed --lib --target thumbv7m-none-eabi --target-dir "$dir" \
        --config 'profile.release.lto="fat"' --config profile.release.codegen-units=1 \
        --config 'profile.release.opt-level="s"')
    cp "$here/firmware/memory-budget.x" "$dir/memory.x"
    local elf="$dir/angraph-firmware-c.elf"
    (cd "$here/firmware/c" && arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -O2 -std=c11 -ffreestanding -nostdlib \
        -Wl,--gc-sections -Wl,--no-warn-execstack -I"$here/include" -Wa,-I"$here/firmware/fixtures" \
        -L"$dir" -T"$here/firmware/link.x" main.c blobs.S "$dir/thumbv7m-none-eabi/release/libangraph_embed.a" \
        -lgcc -o "$elf")
    local sizes out
    sizes="$(arm-none-eabi-size -A "$elf")"
    out="$(qemu-system-arm -machine mps2-an385 -cpu cortex-m3 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" 2>&1)"
    grep -q '^done' <<<"$out" || { echo "C firmware did not finish:"; echo "$out"; exit 1; }
    local flash=$(( $(section .vector_table "$sizes") + $(section .text "$sizes") + $(section .rodata "$sizes") + $(section .data "$sizes") ))
    local stat stack
    stat=$(field static_ram "$out"); stack=$(field stack_peak "$out")
    echo "== C firmware (firmware/c/main.c + libangraph_embed.a for thumbv7m-none-eabi, arm-none-eabi-gcc -O2)"
    echo "flash (text + rodata + data + vectors): $(kib $flash)   budget 256 KiB"
    echo "RAM (static + peak stack):             $(kib $((stat + stack)))   budget 128 KiB"
    echo "  static (arena ANGRAPH_ARENA_BYTES_ORIGINAL, handle inside) $(kib "$stat")"
    echo "  peak stack                           $(kib "$stack")"
    echo "  latency_raw=$(field latency_raw "$out") (2^-$(field latency_frac_bits "$out"))"
    echo
}
report_c

if [ "$callgrind" = 1 ]; then
    command -v valgrind >/dev/null || { echo "report.sh: valgrind not found" >&2; exit 2; }
    (cd "$root" && cargo build --quiet --release -p angraph-embed --example predict_once)
    cg="$(mktemp)"
    valgrind --tool=callgrind --callgrind-out-file="$cg" --collect-atstart=no \
        '--toggle-collect=*Estimator*predict*' "$target/release/examples/predict_once" >/dev/null 2>"$cg.log"
    ir=$(grep -o 'Collected : [0-9]*' "$cg.log" | awk '{print $3}')
    echo "== host x86-64 (valgrind --tool=callgrind, Estimator::predict only, SSE2 kernels)"
    echo "instructions per inference: $ir"
    rm -f "$cg" "$cg.log"
fi
