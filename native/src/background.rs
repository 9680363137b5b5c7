//! Background priority for the engine's threads. The work runs next to the
//! Node.js event loop, which must stay responsive (timers, I/O, heartbeats):
//! on Linux the worker threads, and the libuv thread while it computes, are
//! SCHED_IDLE, so they give the CPU up at once whenever the loop wants it. A
//! nice value is not enough: a woken event loop still waits for the next
//! scheduler tick (4 ms) behind a busy niced thread. Elsewhere this is a no-op.

/// Puts the calling thread in the background for good (pool workers).
pub fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a plain syscall on the calling thread (pid 0) with a valid parameter.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    }
}

/// Runs `f` with the calling thread in the background, then restores its policy
/// (the libuv pool thread is shared with file and DNS work).
pub fn in_background<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(target_os = "linux")]
    {
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain syscalls on the calling thread with valid pointers.
        let policy = unsafe { libc::sched_getscheduler(0) };
        let saved = policy >= 0 && unsafe { libc::sched_getparam(0, &mut param) } == 0;
        lower_current_thread();
        let result = f();
        if saved {
            // SAFETY: restores what sched_getscheduler/sched_getparam returned for this thread.
            unsafe { libc::sched_setscheduler(0, policy, &param) };
        }
        result
    }
    #[cfg(not(target_os = "linux"))]
    {
        f()
    }
}
