//! The `pipeline-canary` binary. Subcommands arrive with later issues.

fn main() {
    eprintln!("pipeline-canary: no subcommand implemented yet");
    std::process::exit(2);
}
