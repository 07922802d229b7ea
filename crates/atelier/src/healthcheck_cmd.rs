//! `atelier healthcheck [URL]`: exit 0 when `URL` answers HTTP 200 within 3 seconds, else
//! say why on stderr and exit 1. For container health checks (Docker's `HEALTHCHECK`) in an
//! image with no curl: one plain HTTP/1.1 request over a TCP stream, `http://` only.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The whole check, connection included: a server that accepts and never answers fails it.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The status line must come within this many bytes; no real one is longer.
const MAX_STATUS_LINE: usize = 1024;

#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// What to ask: an http:// URL (`atelier worker`'s is its `[worker] listen` address).
    #[arg(default_value = "http://127.0.0.1:8080/healthz")]
    url: String,
}

/// Exits 1, never 2, on any failure, a malformed URL included: Docker reserves 2.
pub fn run(args: HealthcheckArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let outcome = runtime.block_on(async {
        match tokio::time::timeout(TIMEOUT, probe(&args.url)).await {
            Ok(outcome) => outcome,
            Err(_) => bail!("no answer within {} s", TIMEOUT.as_secs()),
        }
    });
    Ok(match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("atelier healthcheck: {}: {err:#}", args.url);
            ExitCode::from(1)
        }
    })
}

/// `Ok` when `url` answers 200.
async fn probe(url: &str) -> Result<()> {
    let target = Target::parse(url)?;
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .with_context(|| format!("connecting to {}", target.authority))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: atelier-healthcheck\r\nConnection: close\r\n\r\n",
        target.path, target.authority
    );
    stream.write_all(request.as_bytes()).await.context("sending the request")?;
    let status = read_status(&mut stream).await?;
    if status != 200 {
        bail!("answered HTTP {status}, not 200");
    }
    Ok(())
}

/// An `http://host[:port][/path]` URL, split for the request.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// As the URL writes it, for the `Host` header: `example.com:8080`, `[::1]:8080`.
    authority: String,
    /// Without IPv6 brackets, for connecting.
    host: String,
    port: u16,
    /// With its query, `/` when the URL has none.
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("only http:// URLs are checked (TLS needs a client this command does not carry)");
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('/') => (&rest[..at], rest[at..].to_string()),
            Some(at) => (&rest[..at], format!("/{}", &rest[at..])),
            None => (rest, "/".to_string()),
        };
        // Anything that could end the request line or add a header is refused, not sent.
        if authority.is_empty() || authority.contains('@') || url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            bail!("not a usable http:// URL");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().with_context(|| format!("`{port}` is not a port"))?)
            }
            _ => (authority, 80),
        };
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if host.is_empty() {
            bail!("the URL names no host");
        }
        Ok(Target { authority: authority.to_string(), host: host.to_string(), port, path })
    }
}

/// The status code of the response's first line; the rest is not read.
async fn read_status(stream: &mut TcpStream) -> Result<u16> {
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    let line_end = loop {
        if let Some(end) = head.windows(2).position(|pair| pair == b"\r\n") {
            break end;
        }
        if head.len() > MAX_STATUS_LINE {
            bail!("not an HTTP response");
        }
        match stream.read(&mut buf).await.context("reading the response")? {
            0 => bail!("the connection closed before a response"),
            read => head.extend_from_slice(&buf[..read]),
        }
    };
    parse_status_line(&head[..line_end]).context("not an HTTP response")
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/1.") && code.len() == 3).then(|| code.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::{parse_status_line, Target};

    fn target(authority: &str, host: &str, port: u16, path: &str) -> Target {
        Target { authority: authority.into(), host: host.into(), port, path: path.into() }
    }

    #[test]
    fn urls_are_split_into_what_the_connection_and_the_request_line_need() {
        let parse = |url: &str| Target::parse(url).unwrap();
        assert_eq!(parse("http://127.0.0.1:8080/healthz"), target("127.0.0.1:8080", "127.0.0.1", 8080, "/healthz"));
        assert_eq!(parse("http://localhost"), target("localhost", "localhost", 80, "/"));
        assert_eq!(parse("http://[::1]:9091/readyz?x=1"), target("[::1]:9091", "::1", 9091, "/readyz?x=1"));
        assert_eq!(parse("http://[::1]"), target("[::1]", "::1", 80, "/"));
        assert_eq!(parse("http://h:1?q"), target("h:1", "h", 1, "/?q"));
    }

    #[test]
    fn urls_that_are_not_plain_http_or_could_inject_headers_are_refused() {
        for url in [
            "https://127.0.0.1/healthz",
            "127.0.0.1:8080",
            "http://",
            "http://:80/",
            "http://h:99999/",
            "http://h:x/",
            "http://user@h/",
            "http://h/a b",
            "http://h/\r\nX-Evil: 1",
        ] {
            assert!(Target::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn only_a_well_formed_status_line_gives_a_status() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 503 Service Unavailable"), Some(503));
        assert_eq!(parse_status_line(b"HTTP/1.1 204"), Some(204));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH_9.6"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 2000 OK"), None);
        assert_eq!(parse_status_line(b""), None);
    }
}
