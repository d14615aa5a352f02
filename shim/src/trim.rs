//! Keep the shim's resident set to what it uses while it waits. A shim lives as long as
//! its container and mostly sleeps, yet the code it ran once (starting up, making a
//! container) stays mapped: the kernel maps executable pages in 64 KiB runs around each
//! fault, so a few hundred functions touched once leave megabytes of the binary and libc
//! in its RSS. Dropping the mappings of the executable, never-written (`r-xp`) segments
//! costs nothing: the pages stay in the page cache, and what runs again faults them back
//! in (minor faults). Writable or relocated segments are never touched: dropping those
//! would lose their contents.

/// Unmap the resident pages of every file-backed executable segment.
pub fn text() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let path = f.nth(3).unwrap_or("");
        if perms != "r-xp" || !path.starts_with('/') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        else {
            continue;
        };
        // SAFETY: a private, read-only, executable file mapping is never written, so
        // MADV_DONTNEED only drops page-table entries; the next access refaults the same
        // bytes from the file. No Rust object lives in such a mapping.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}
