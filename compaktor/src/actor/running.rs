//! Which actor's task this thread is polling: set by the task around each hook and handler, read
//! by a send to find a send to oneself (which would wait forever) and by an ask to note who
//! waits on whom. The task that sets it lives in `task`.

use std::cell::Cell;

use crate::actor::cell::ActorCell;

thread_local! {
    /// The address of the cell of the actor whose task this thread is polling; 0 for none.
    /// An address, not the id, so checking costs no read of the cell's cold fields.
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

fn address(cell: &ActorCell) -> usize {
    std::ptr::from_ref(cell).addr()
}

/// Whether this thread is running the actor of `cell` (a send to oneself).
pub(crate) fn is_running_here(cell: &ActorCell) -> bool {
    CURRENT.with(Cell::get) == address(cell)
}

/// The address of the cell of the actor whose hook or handler this thread is running; 0 for
/// none.
pub(crate) fn running_here() -> usize {
    CURRENT.with(Cell::get)
}

/// Marks this thread as running the actor of a cell until dropped (also on a panic),
/// restoring what was marked before.
pub(crate) struct Running(usize);

impl Running {
    #[inline]
    pub(crate) fn enter(cell: &ActorCell) -> Running {
        Running(CURRENT.with(|current| current.replace(address(cell))))
    }
}

impl Drop for Running {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}
