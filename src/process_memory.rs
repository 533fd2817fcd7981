//! This process's memory: how the allocator returns freed memory, and how much is resident
//! (`/proc/self/status`).

/// mimalloc's `mi_option_purge_delay` (its position in `mi_option_t`; the Rust bindings name
/// options up to 14 and from 16).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Make mimalloc hand freed memory back to the OS at once instead of after a delay, unless the
/// operator set `MIMALLOC_PURGE_DELAY`. Measured on a 10,000-page crawl: peak RSS 93 MB instead
/// of 178 MB, for a few percent of throughput.
pub fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option; mimalloc reads options atomically.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

/// Resident memory of this process in MB (Linux `/proc/self/status`; `None` elsewhere).
pub fn rss_mb() -> Option<f64> {
    status_mb("VmRSS")
}

/// A memory field of `/proc/self/status` (`VmRSS`, `VmHWM` for the peak, ...) in MB.
pub fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let value = status.lines().find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))?;
    let kb: f64 = value.split_whitespace().next()?.parse().ok()?;
    Some(kb / 1024.0)
}
