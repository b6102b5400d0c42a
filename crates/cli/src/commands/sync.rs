//! `mayros sync …`: status of the running engine (DESIGN §6.2, §8).

use crate::cli::{GlobalArgs, SyncCommand};
use crate::client::EngineClient;
use crate::output;

/// Runs one `mayros sync` operation against the engine of the data dir.
pub async fn run(global: &GlobalArgs, command: SyncCommand) -> anyhow::Result<()> {
    let client = EngineClient::locate(&global.data_dir())?;
    match command {
        SyncCommand::Status { json } => {
            let answer = client.control_get("/api/v1/sync/status").await?;
            if json {
                output::print(&output::pretty_json_text(&answer.text))?;
            } else {
                output::print(&output::status_summary(&answer.json))?;
            }
        }
    }
    Ok(())
}
