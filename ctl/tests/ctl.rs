//! arenalloc-ctl end to end: typed reads, MIBs, the raw layer and its error codes.

use arenalloc_ctl::{arena, arenas, config, epoch, opt, raw, stats, thread, version};
use arenalloc_ctl::{Error, ErrorKind, Mib};

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

#[test]
fn constants_read_typed() {
    let v = version::read().unwrap();
    let want = arenalloc::ffi::ARENALLOC_VERSION;
    assert_eq!(v.as_bytes(), &want[..want.len() - 1]);

    let page = arenas::page::read().unwrap();
    assert!(page.is_power_of_two() && page >= 4096, "{page}");
    let quantum = arenas::quantum::read().unwrap();
    assert!(quantum.is_power_of_two() && quantum >= 8, "{quantum}");
    assert_eq!(config::stats::read(), Ok(true));
    assert!(config::debug::read().is_ok());
    assert!(opt::narenas::read().unwrap() >= 1);
    assert!(arenas::narenas::read().unwrap() >= 1);
    let _: &str = config::malloc_conf::read().unwrap();
    let _: &str = opt::junk::read().unwrap();

    // Size classes: bins strictly increasing, then the large classes.
    let nbins = arenas::nbins::read().unwrap();
    let nlextents = arenas::nlextents::read().unwrap();
    assert!(nbins > 0 && nlextents > 0);
    let mut prev = 0;
    for j in 0..nbins {
        let size = arenas::bin::size::read(j).unwrap();
        let nregs = arenas::bin::nregs::read(j).unwrap();
        let slab = arenas::bin::slab_size::read(j).unwrap();
        assert!(size > prev, "bin {j}: {size} after {prev}");
        assert_eq!(slab % page, 0, "bin {j}");
        assert!(nregs as usize * size <= slab, "bin {j}");
        prev = size;
    }
    for j in 0..nlextents.min(64) {
        let size = arenas::lextent::size::read(j).unwrap();
        assert!(size > prev, "lextent {j}: {size} after {prev}");
        prev = size;
    }
    // One past the end is not a key.
    assert_eq!(arenas::bin::size::read(nbins), Err(Error::ENOENT));
    assert_eq!(arenas::lextent::size::read(nlextents), Err(Error::ENOENT));
}

#[test]
fn mib_reads_match_name_reads() {
    let size = arenas::bin::size::mib().unwrap();
    for j in 0..arenas::nbins::read().unwrap() {
        assert_eq!(size.read(j), arenas::bin::size::read(j));
    }
    // Statistics of one epoch, by name and by MIB.
    epoch::advance().unwrap();
    let nmalloc = stats::arenas::bins::nmalloc::mib().unwrap();
    let e = epoch::read().unwrap();
    let by_mib = nmalloc.read(arenalloc_ctl::ARENAS_ALL, 0).unwrap();
    let by_name = stats::arenas::bins::nmalloc::read(arenalloc_ctl::ARENAS_ALL, 0).unwrap();
    if epoch::read().unwrap() == e {
        assert_eq!(by_mib, by_name);
    }
    // The generic Mib patches like the typed one.
    let mut m = Mib::<4>::from_name("arenas.bin.0.size").unwrap();
    m[2] = 3;
    assert_eq!(
        unsafe { raw::read_mib::<usize>(m.as_slice()) },
        arenas::bin::size::read(3)
    );
}

#[test]
fn epoch_advances() {
    let e0 = epoch::read().unwrap();
    let e1 = epoch::advance().unwrap();
    assert!(e1 > e0);
    assert!(epoch::read().unwrap() >= e1);
}

#[test]
fn thread_counters_count_usable_bytes() {
    let allocatedp = thread::allocatedp::read().unwrap();
    let deallocatedp = thread::deallocatedp::read().unwrap();
    let a0 = thread::allocated::read().unwrap();
    assert_eq!(allocatedp.get(), a0);
    let v: Vec<u8> = Vec::with_capacity(3000);
    let usable = unsafe { arenalloc::usable_size(v.as_ptr()) } as u64;
    assert!(usable >= 3000);
    assert_eq!(allocatedp.get() - a0, usable);
    assert_eq!(thread::allocated::read().unwrap() - a0, usable);
    let d0 = thread::deallocated::read().unwrap();
    drop(v);
    assert_eq!(thread::deallocated::read().unwrap() - d0, usable);
    assert!(deallocatedp.get() >= d0);
}

#[test]
fn thread_arena_and_lookup() {
    let mine = thread::arena::read().unwrap();
    let narenas = arenas::narenas::read().unwrap();
    assert!(mine < narenas);
    // An allocation that bypasses the thread cache comes from the thread's arena.
    let p = unsafe { arenalloc::ffi::arenalloc_mallocx(100, arenalloc::MALLOCX_TCACHE_NONE) };
    assert!(!p.is_null());
    assert_eq!(arenas::lookup::read(p), Ok(mine));
    unsafe { arenalloc::ffi::arenalloc_dallocx(p, arenalloc::MALLOCX_TCACHE_NONE) };
    // Not ours.
    let x = 0u64;
    assert_eq!(
        arenas::lookup::read(std::ptr::addr_of!(x).cast()),
        Err(Error::EINVAL)
    );
    // Binding to another arena and back. SAFETY (the writes): this test binary creates no
    // explicit arena, so both are automatic arenas (never reset or destroyed).
    let other = (mine + 1) % narenas;
    assert_eq!(unsafe { thread::arena::update(other) }, Ok(mine));
    assert_eq!(thread::arena::read(), Ok(other));
    unsafe { thread::arena::write(mine) }.unwrap();
    assert_eq!(unsafe { thread::arena::write(narenas) }, Err(Error::EFAULT));
    assert_eq!(thread::arena::read(), Ok(mine));
    // `initialized` is as of the last refresh.
    epoch::advance().unwrap();
    assert_eq!(arena::initialized::read(mine), Ok(true));
}

#[test]
fn thread_cache_switch() {
    std::thread::spawn(|| {
        assert_eq!(thread::tcache::enabled::read(), Ok(true));
        thread::tcache::flush::call().unwrap();
        thread::tcache::enabled::write(false).unwrap();
        assert_eq!(thread::tcache::enabled::read(), Ok(false));
        let v = vec![1u8; 100];
        drop(v);
        thread::tcache::enabled::write(true).unwrap();
        thread::idle::call().unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn unknown_names_are_enoent() {
    unsafe {
        assert_eq!(raw::read::<u64>("no.such.key"), Err(Error::ENOENT));
        assert_eq!(raw::read::<u64>(""), Err(Error::ENOENT));
        // An interior node is not a key.
        assert_eq!(raw::read::<u64>("arenas"), Err(Error::ENOENT));
        assert_eq!(raw::read::<u64>("stats.arenas.0"), Err(Error::ENOENT));
        // Too deep.
        assert_eq!(raw::read::<usize>("arenas.page.x"), Err(Error::ENOENT));
        // Indices out of range.
        assert_eq!(
            raw::read::<usize>("stats.arenas.100000.pactive"),
            Err(Error::ENOENT)
        );
        assert_eq!(
            raw::read::<usize>("arenas.bin.100000.size"),
            Err(Error::ENOENT)
        );
        assert_eq!(raw::read::<usize>("arenas.bin.x.size"), Err(Error::ENOENT));
        // Names the crate refuses before calling C.
        assert_eq!(raw::read::<usize>("arenas.page\0x"), Err(Error::ENOENT));
        assert_eq!(raw::read::<usize>(&"x".repeat(300)[..]), Err(Error::ENOENT));
    }
    assert_eq!(stats::arenas::pactive::read(100_000), Err(Error::ENOENT));
    assert_eq!(Error::ENOENT.kind(), ErrorKind::NotFound);
    // SAFETY: no such key: nothing runs.
    assert_eq!(unsafe { raw::call("no.such.command") }, Err(Error::ENOENT));
}

#[test]
fn names_with_or_without_nul() {
    let page = arenas::page::read().unwrap();
    unsafe {
        assert_eq!(raw::read::<usize>("arenas.page"), Ok(page));
        assert_eq!(raw::read::<usize>("arenas.page\0"), Ok(page));
        assert_eq!(raw::read::<usize>(b"arenas.page\0"), Ok(page));
        assert_eq!(raw::read::<usize>(b"arenas.page"), Ok(page));
        let c = std::ffi::CStr::from_bytes_with_nul(b"arenas.page\0").unwrap();
        assert_eq!(raw::read::<usize>(c), Ok(page));
    }
}

#[test]
fn wrong_direction_is_eperm() {
    unsafe {
        assert_eq!(raw::write("arenas.page", 4096usize), Err(Error::EPERM));
        assert_eq!(raw::write("stats.allocated", 0usize), Err(Error::EPERM));
        assert_eq!(
            raw::update("version", std::ptr::null::<u8>()),
            Err(Error::EPERM)
        );
        // A command takes no value and gives none.
        assert_eq!(raw::read::<u64>("thread.tcache.flush"), Err(Error::EPERM));
        assert_eq!(raw::write("thread.tcache.flush", 1u8), Err(Error::EPERM));
    }
    // Nothing changed.
    assert!(arenas::page::read().unwrap().is_power_of_two());
}

#[test]
fn wrong_size_is_einval() {
    unsafe {
        assert_eq!(raw::read::<u8>("arenas.page"), Err(Error::EINVAL));
        assert_eq!(raw::read::<u32>("stats.allocated"), Err(Error::EINVAL));
        assert_eq!(raw::read::<u64>("arenas.narenas"), Err(Error::EINVAL));
        assert_eq!(raw::read::<[u8; 16]>("epoch"), Err(Error::EINVAL));
        let arena = thread::arena::read().unwrap();
        assert_eq!(raw::write("thread.arena", arena as u8), Err(Error::EINVAL));
        assert_eq!(
            raw::write("thread.arena", u64::from(arena)),
            Err(Error::EINVAL)
        );
        assert_eq!(thread::arena::read(), Ok(arena));
        assert_eq!(raw::write("epoch", 1u32), Err(Error::EINVAL));
    }
    assert_eq!(Error::EINVAL.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn mib_depth_is_checked() {
    let mut buf = [0usize; 8];
    let page = raw::name_to_mib("arenas.page", &mut buf).unwrap().to_vec();
    assert_eq!(page.len(), 2);
    unsafe {
        assert_eq!(raw::read_mib::<usize>(&page), arenas::page::read());
        // Too short: an interior node. Too long: past a leaf. Empty.
        assert_eq!(raw::read_mib::<usize>(&page[..1]), Err(Error::ENOENT));
        assert_eq!(
            raw::read_mib::<usize>(&[page[0], page[1], 0]),
            Err(Error::ENOENT)
        );
        assert_eq!(raw::read_mib::<usize>(&[]), Err(Error::ENOENT));
        // A component out of range.
        assert_eq!(
            raw::read_mib::<usize>(&[page[0], 100_000]),
            Err(Error::ENOENT)
        );
    }
    assert_eq!(Mib::<3>::from_name("arenas.page"), Err(Error::ENOENT));
    assert_eq!(
        Mib::<2>::from_name("arenas.page").map(|m| m.as_slice().to_vec()),
        Ok(page.clone())
    );
    // A buffer shorter than the name gets the prefix (jemalloc's partial MIBs)...
    let mut short = [0usize; 1];
    assert_eq!(raw::name_to_mib("arenas.page", &mut short), Ok(&page[..1]));
    // ... which Mib does not take for the whole name.
    assert_eq!(Mib::<1>::from_name("arenas.page"), Err(Error::ENOENT));
}

#[test]
fn errors_display_the_man_page_meaning() {
    let s = Error::EPERM.to_string();
    assert!(s.starts_with("EPERM: "), "{s}");
    assert!(Error::EAGAIN.to_string().starts_with("EAGAIN: "));
    assert!(Error::EFAULT.to_string().starts_with("EFAULT: "));
    assert_eq!(
        std::mem::size_of::<arenalloc_ctl::Result<()>>(),
        std::mem::size_of::<std::ffi::c_int>()
    );
}
