//! Two actors play ping-pong: each hit is a message to the other actor, through its
//! `ActorRef`. Shows spawning, tells between actors, `Context::actor_ref`, and a clean stop.
//!
//! Run it with `cargo run --example ping_pong`.

use compaktor::prelude::*;

/// Hits the ball back until the rally is long enough.
struct Player {
    name: &'static str,
    hits: u32,
    /// Set when the rally is over; the main task waits for it.
    done: Option<tokio::sync::oneshot::Sender<u32>>,
}

#[actor]
impl Player {
    /// The ball arrives with the number of the hit and who to send it back to.
    #[handler]
    async fn ball(&mut self, hit: u32, from: ActorRef<Player>, ctx: &mut Context<Self>) {
        self.hits += 1;
        println!(
            "{:>4}  {:<4} hit #{hit}",
            self.name,
            if hit.is_multiple_of(2) {
                "ping"
            } else {
                "pong"
            }
        );
        if hit == 10 {
            println!(
                "      {} ends the rally after {} hits of its own",
                self.name, self.hits
            );
            if let Some(done) = self.done.take() {
                let _ = done.send(hit);
            }
            return;
        }
        // Send it back: a tell to the other player, carrying our own ref.
        if let Err(e) = from.ball(hit + 1, ctx.actor_ref()).await {
            eprintln!("{} could not return the ball: {e}", self.name);
        }
    }

    /// How many times this player hit the ball.
    #[handler]
    fn hits(&self) -> u32 {
        self.hits
    }
}

fn main() -> std::process::ExitCode {
    // An error prints as its one-line message (`error: …`), with the exit code 1.
    compaktor_pi::firmware::exit(|| tokio::runtime::Runtime::new()?.block_on(play()))
}

async fn play() -> Result<(), Box<dyn std::error::Error>> {
    let system = ActorSystem::new("ping_pong");
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let alice = system
        .builder(Player {
            name: "alice",
            hits: 0,
            done: Some(done_tx),
        })
        .name("alice")
        .spawn()?;
    let bob = system
        .builder(Player {
            name: "bob",
            hits: 0,
            done: None,
        })
        .name("bob")
        .spawn()?;

    println!("serving...");
    bob.ball(1, alice.clone()).await?;
    let last = done_rx.await?;

    println!(
        "rally over at hit #{last}: alice hit {}, bob hit {}",
        alice.hits().await?,
        bob.hits().await?
    );
    alice.stop();
    bob.stop();
    println!("alice: {}", alice.stopped().await);
    println!("bob:   {}", bob.stopped().await);
    println!("dead letters: {}", system.dead_letter_count());
    Ok(())
}
