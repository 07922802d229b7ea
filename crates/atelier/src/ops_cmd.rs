//! `atelier ops`: the op catalogue, for people (a readable list) and machines (`--json`).

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct OpsArgs {
    /// Print the catalogue as JSON, with each op's parameter schema.
    #[arg(long)]
    json: bool,
}

pub fn run(args: OpsArgs) -> Result<()> {
    let catalogue = atelier_imaging::catalogue();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &catalogue)?;
        writeln!(out)?;
        return Ok(());
    }
    for op in &catalogue {
        writeln!(out, "{} ({} credit{}) — {}", op.name, op.cost, if op.cost == 1 { "" } else { "s" }, op.summary)?;
        let Some(properties) = op.parameters.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, schema) in properties {
            let default = op.defaults.get(name).map(compact).unwrap_or_else(|| "—".into());
            let description = schema.get("description").and_then(Value::as_str).unwrap_or("");
            writeln!(out, "    {name:<16} = {default:<12} {description}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn compact(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
