//! A minimal Cortex-M runtime: vector table, reset (copy `.data`, zero `.bss`), semihosting
//! output and exit, a SysTick counter, stack painting. No dependencies.

use core::arch::asm;
use core::fmt;
use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicU32, Ordering};

extern "C" {
    static mut _sdata: u32;
    static mut _edata: u32;
    static _sidata: u32;
    static mut _sbss: u32;
    static mut _ebss: u32;
    static _stack_top: u32;
}

type Handler = unsafe extern "C" fn();

/// Exceptions 1..=15 (entry 0, the initial stack pointer, is written by the linker script).
#[link_section = ".vector_table.vectors"]
#[no_mangle]
#[used]
pub static VECTORS: [Option<Handler>; 15] = [
    Some(reset_trampoline), // 1 Reset
    Some(fault),            // 2 NMI
    Some(fault),            // 3 HardFault
    Some(fault),            // 4 MemManage
    Some(fault),            // 5 BusFault
    Some(fault),            // 6 UsageFault
    None,
    None,
    None,
    None,
    Some(fault), // 11 SVCall
    Some(fault), // 12 DebugMonitor
    None,
    Some(fault),   // 14 PendSV
    Some(systick), // 15 SysTick
];

unsafe extern "C" fn reset_trampoline() {
    // SAFETY: called once by the hardware on reset.
    unsafe { Reset() }
}

/// The reset handler.
///
/// # Safety
/// Only the hardware calls it, once.
#[no_mangle]
pub unsafe extern "C" fn Reset() -> ! {
    // A hard-float build may emit FPU instructions: grant access to CP10/CP11 (CPACR) first.
    #[cfg(target_abi = "eabihf")]
    // SAFETY: CPACR is a System Control Block register of every ARMv7E-M core with an FPU;
    // written once before any floating-point instruction, then synchronised.
    unsafe {
        const CPACR: *mut u32 = 0xE000_ED88 as *mut u32;
        CPACR.write_volatile(CPACR.read_volatile() | (0xF << 20));
        asm!("dsb", "isb", options(nostack, preserves_flags));
    }
    // SAFETY: the linker script defines these symbols around .data/.bss; nothing reads them
    // before they are initialised here.
    unsafe {
        let mut src = addr_of!(_sidata);
        let mut dst = addr_of_mut!(_sdata);
        while dst < addr_of_mut!(_edata) {
            dst.write_volatile(src.read());
            dst = dst.add(1);
            src = src.add(1);
        }
        let mut p = addr_of_mut!(_sbss);
        while p < addr_of_mut!(_ebss) {
            p.write_volatile(0);
            p = p.add(1);
        }
    }
    crate::main()
}

unsafe extern "C" fn fault() {
    print("FAULT: exception taken\n");
    exit(false)
}

static TICK_WRAPS: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn systick() {
    TICK_WRAPS.fetch_add(1, Ordering::Relaxed);
}

const SYST_CSR: *mut u32 = 0xE000_E010 as *mut u32;
const SYST_RVR: *mut u32 = 0xE000_E014 as *mut u32;
const SYST_CVR: *mut u32 = 0xE000_E018 as *mut u32;
const RELOAD: u32 = 0x00FF_FFFF;

/// Start SysTick on the processor clock, counting wraps in the exception.
pub fn ticks_start() {
    // SAFETY: architecturally defined SysTick registers of every Cortex-M.
    unsafe {
        SYST_RVR.write_volatile(RELOAD);
        SYST_CVR.write_volatile(0);
        SYST_CSR.write_volatile(0b111); // enable, tick interrupt, processor clock
    }
}

/// SysTick ticks since `ticks_start` (monotonic; wraps counted).
pub fn ticks() -> u64 {
    loop {
        let w0 = TICK_WRAPS.load(Ordering::Relaxed);
        // SAFETY: as above.
        let v = unsafe { SYST_CVR.read_volatile() } & RELOAD;
        let w1 = TICK_WRAPS.load(Ordering::Relaxed);
        if w0 == w1 {
            return w0 as u64 * (RELOAD as u64 + 1) + (RELOAD - v) as u64;
        }
    }
}

/// A loop of exactly `2 * n` instructions (`subs` + `bne` per iteration), to calibrate ticks
/// against instructions under `qemu -icount`.
#[inline(never)]
pub fn spin(n: u32) {
    // SAFETY: register-only loop.
    unsafe {
        asm!(
            "2:",
            "subs {0}, {0}, #1",
            "bne 2b",
            inout(reg) n => _,
            options(nomem, nostack)
        );
    }
}

const PAINT: u32 = 0x5A5A_A5A5;

fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Fill the free stack (from the end of `.bss` to just below the current frame) with a pattern.
pub fn paint_stack() {
    let lo = addr_of_mut!(_ebss) as usize;
    let hi = stack_pointer() - 64;
    let mut p = lo;
    while p < hi {
        // SAFETY: [lo, hi) is RAM between .bss and the live stack: unused by anyone.
        unsafe { (p as *mut u32).write_volatile(PAINT) };
        p += 4;
    }
}

/// Peak stack use in bytes since `paint_stack`: from the top of RAM to the lowest overwritten
/// word.
pub fn stack_peak() -> usize {
    let lo = addr_of_mut!(_ebss) as usize;
    let top = addr_of!(_stack_top) as usize;
    let mut p = lo;
    // SAFETY: reads RAM between .bss and the top of the stack.
    while p < top && unsafe { (p as *const u32).read_volatile() } == PAINT {
        p += 4;
    }
    top - p
}

/// Bytes of `.data` + `.bss`.
pub fn static_ram() -> usize {
    addr_of!(_ebss) as usize - addr_of!(_sdata) as usize
}

fn semihost(op: usize, arg: usize) -> usize {
    let r;
    // SAFETY: the ARM semihosting call; QEMU runs with `-semihosting-config enable=on`.
    unsafe {
        asm!("bkpt #0xAB", inout("r0") op => r, in("r1") arg, options(nostack));
    }
    r
}

/// Write a string to the host console (SYS_WRITE0 needs NUL termination: chunked copy).
pub fn print(s: &str) {
    let mut buf = [0u8; 129];
    for chunk in s.as_bytes().chunks(128) {
        buf[..chunk.len()].copy_from_slice(chunk);
        buf[chunk.len()] = 0;
        semihost(0x04, buf.as_ptr() as usize);
    }
}

/// `core::fmt` into semihosting.
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        print(s);
        Ok(())
    }
}

/// Leave QEMU: exit status 0 on success, 1 otherwise.
pub fn exit(ok: bool) -> ! {
    let reason = if ok { 0x20026 } else { 0x20024 }; // ApplicationExit / InternalError
    semihost(0x18, reason);
    loop {
        core::hint::spin_loop();
    }
}
