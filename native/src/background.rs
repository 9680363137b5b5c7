//! The engine's worker pool, in the background. The work runs next to the
//! Node.js event loop, which must stay responsive (timers, I/O, heartbeats): on
//! Linux the pool's threads run at nice 19, so a woken event loop takes the CPU
//! from them. Measured with 64 × 16 KB responses: at normal priority the loop's
//! 1 ms timer came up to 25 ms late during a loaded test run; at nice 19 within
//! about 6 ms, for about 0.2 ms more per 32 × 4 KB call (SCHED_IDLE: within 5 ms,
//! but 0.7 ms more, from slow wake-ups of idle-class threads). Large inputs run
//! entirely inside the pool (the libuv thread only waits), so no thread outside
//! it changes priority (an unprivileged process could not raise it back).

use rayon::ThreadPool;
use std::sync::OnceLock;

/// Nice value of the pool's threads (Linux; the lowest priority).
#[cfg(target_os = "linux")]
const BACKGROUND_NICE: libc::c_int = 19;

fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a plain syscall on the calling thread (Linux: who = 0 is the calling thread).
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE) };
    }
}

/// One thread per core, created on first use.
pub fn pool() -> &'static ThreadPool {
    static POOL: OnceLock<ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("core-consensus-{i}"))
            .start_handler(|_| lower_current_thread())
            .build()
            .expect("the consensus worker pool starts")
    })
}
