//! Process memory policy.

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
