//! Death watch and links: learning that another actor ended ([`Context::watch`]), and failing
//! together with it ([`Context::link`], unless exits are trapped with
//! [`Context::trap_exits`]). Restarts by a supervisor live in `tree::node`.

use std::sync::Arc;

use futures::StreamExt;

use crate::actor::cell::Control;
use crate::{Actor, ActorId, ActorRef, Context, MessageSource, TaskHandle, Tell};
use crate::{LinkExit, Terminated};

impl<A: Actor> Context<A> {
    /// Watches `other`: when it has ended for good, `make` turns a [`Terminated`] notice into a
    /// message to this actor, e.g. `ctx.watch(&motor, |me, t| me.motor_gone(t))`. If `other`
    /// has already ended, the notice comes at once. Watching the same actor again replaces the
    /// earlier watch.
    ///
    /// Watches belong to this instance: they end when it stops or is restarted (a restarted
    /// instance watches again from its start hook). A panic in `make` fails this actor: see
    /// [Message sources that panic](Context#message-sources-that-panic).
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use compaktor::Terminated;
    ///
    /// struct Worker;
    /// #[actor] impl Worker {}
    ///
    /// struct Controller { gone: Option<StopReason> }
    ///
    /// #[actor]
    /// impl Controller {
    ///     #[handler]
    ///     fn watch(&mut self, worker: ActorRef<Worker>, ctx: &mut Context<Self>) {
    ///         ctx.watch(&worker, |me, t| me.worker_gone(t));
    ///     }
    ///     #[handler]
    ///     fn worker_gone(&mut self, notice: Terminated) { self.gone = Some(notice.reason); }
    ///     #[handler]
    ///     fn gone(&self) -> Option<StopReason> { self.gone.clone() }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("watch");
    /// let worker = system.spawn(Worker);
    /// let controller = system.spawn(Controller { gone: None });
    /// controller.watch(worker.clone()).ask().await?;
    /// worker.kill();
    /// worker.stopped().await;
    /// # tokio::task::yield_now().await; tokio::task::yield_now().await;
    /// # while controller.gone().await?.is_none() { tokio::task::yield_now().await; }
    /// assert_eq!(controller.gone().await?, Some(StopReason::Killed));
    /// # Ok(()) }
    /// ```
    pub fn watch<B, F, R, E>(&mut self, other: &ActorRef<B>, mut make: F) -> TaskHandle
    where
        B: Actor,
        F: for<'r> FnMut(&'r ActorRef<A>, Terminated) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        self.unwatch(other.id());
        let (actor, path) = (
            other.label().clone(),
            Arc::clone(other.shared().cell.path()),
        );
        let stopped = other.stopped();
        let notice = futures::stream::once(async move {
            Terminated {
                actor,
                path,
                reason: stopped.await,
            }
        });
        let handle = self.attach_source(MessageSource::Watch, notice, move |me, notice| {
            make(me, notice)
        });
        self.watches().push((other.id(), handle.clone()));
        handle
    }

    /// Stops watching the actor `id`; a notice already in the mailbox is skipped. Whether it
    /// was watched.
    pub fn unwatch(&mut self, id: ActorId) -> bool {
        let mut found = false;
        self.watches().retain(|(watched, handle)| {
            if *watched == id {
                found = true;
                handle.cancel();
                return false;
            }
            !handle.is_finished() // prune watches that have fired
        });
        found
    }

    /// Links this actor with `other`, both ways: when an instance of either fails, the other
    /// fails too with [`StopReason::LinkFailed`] (and its supervisor decides about it), unless
    /// it traps exits. If `other` has already failed, this actor fails after the current
    /// handler. A normal stop ends the link without failing anyone.
    ///
    /// Links belong to the instances: a restarted actor has none until it links again.
    pub fn link<B: Actor>(&mut self, other: &ActorRef<B>) {
        let me = self.cell();
        if other.id() == me.id() {
            return;
        }
        let theirs = &other.shared().cell;
        let mine: Arc<dyn Control> = self.control();
        let their_control: Arc<dyn Control> = Arc::clone(other.shared()) as Arc<dyn Control>;
        theirs.add_link(me.id(), Arc::downgrade(&mine));
        me.add_link(other.id(), Arc::downgrade(&their_control));
        // Linked to an actor that had already ended: the link is dead, and its end counts now.
        if let Some(reason) = theirs.stop_reason() {
            theirs.remove_link(me.id());
            me.remove_link(other.id());
            mine.linked_exit(LinkExit {
                actor: other.label().clone(),
                reason,
            });
        } else if let Some(failed) = theirs.instance_ended() {
            // Its instance is ending (stop hook, restart): its links may have been read
            // already. If ours is still there, nobody will read it: act on it here.
            if theirs.remove_link(me.id()) {
                me.remove_link(other.id());
                if failed && let Some(reason) = theirs.last_failure() {
                    mine.linked_exit(LinkExit {
                        actor: other.label().clone(),
                        reason,
                    });
                }
            }
        }
    }

    /// Removes the link with `other`, both ways; whether there was one.
    pub fn unlink<B: Actor>(&mut self, other: &ActorRef<B>) -> bool {
        let removed = self.cell().remove_link(other.id());
        other.shared().cell.remove_link(self.id()) || removed
    }

    /// From now on, a linked actor's end reaches this actor as a message (`make` turns the
    /// [`LinkExit`] into one) instead of failing it, e.g.
    /// `ctx.trap_exits(|me, exit| me.peer_exited(exit))`. Normal stops are reported too. A
    /// panic in `make` fails this actor: see
    /// [Message sources that panic](Context#message-sources-that-panic).
    pub fn trap_exits<F, R, E>(&mut self, make: F) -> TaskHandle
    where
        F: for<'r> FnMut(&'r ActorRef<A>, LinkExit) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (trap, exits) = futures::channel::mpsc::unbounded();
        self.cell().set_trap(trap);
        self.attach_source(MessageSource::TrapExits, exits.fuse(), make)
    }
}
