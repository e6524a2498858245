//! Connectors whose work blocks (reading files, a blocking HTTP client) run it on Tokio's blocking
//! threads; these are the pieces they share to hand results back to the async side.

use tokio::sync::mpsc::{Receiver, Sender};

use super::{ConnectorError, ConnectorErrorKind, Record, RecordSink};

/// Items in flight between a blocking reader and the async side.
pub const CHANNEL_CAPACITY: usize = 64;

/// What a blocking reader sends while it collects: a collection's start, then its records.
pub enum Message {
    Begin(String, Vec<String>),
    Record(Record),
}

/// Sends from the blocking side; fails once the async side stopped listening.
pub fn send<T>(tx: &Sender<T>, message: T) -> Result<(), ConnectorError> {
    tx.blocking_send(message).map_err(|_| ConnectorError::new(ConnectorErrorKind::Failed, "reading was stopped"))
}

/// Runs `work` on a blocking thread, naming `source` if the thread dies.
pub async fn run<T: Send + 'static>(
    source: &str,
    work: impl FnOnce() -> Result<T, ConnectorError> + Send + 'static,
) -> Result<T, ConnectorError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        ConnectorError::new(ConnectorErrorKind::Failed, format!("the work on source {source} stopped unexpectedly"))
            .with_cause(e)
    })?
}

/// Runs the blocking `read`, feeding what it sends into `sink` in order. A sink that fails stops
/// the reader (its channel closes) and the sink's failure is the answer.
pub async fn collect(
    source: &str,
    sink: &mut dyn RecordSink,
    read: impl FnOnce(&Sender<Message>) -> Result<(), ConnectorError> + Send + 'static,
) -> Result<(), ConnectorError> {
    let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY);
    let reading = run(source, move || read(&tx));
    let feeding = feed(rx, sink);
    let (read, fed) = tokio::join!(reading, feeding);
    fed?;
    read
}

async fn feed(mut rx: Receiver<Message>, sink: &mut dyn RecordSink) -> Result<(), ConnectorError> {
    let mut current = String::new();
    while let Some(message) = rx.recv().await {
        let stored = match message {
            Message::Begin(collection, fields) => {
                let begun = sink.begin_collection(&collection, &fields);
                current = collection;
                begun
            }
            Message::Record(record) => sink.record(record),
        };
        stored.map_err(|e| {
            ConnectorError::new(
                ConnectorErrorKind::Failed,
                format!("the records of collection {current} could not be stored"),
            )
            .with_cause(e)
        })?;
    }
    Ok(())
}

/// Runs the blocking `read`, which sends addresses in batches, and hands each to `found`.
pub async fn emails(
    source: &str,
    found: &mut (dyn for<'a> FnMut(&'a str) + Send),
    read: impl FnOnce(&Sender<Vec<String>>) -> Result<(), ConnectorError> + Send + 'static,
) -> Result<(), ConnectorError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY);
    let reading = run(source, move || read(&tx));
    let feeding = async {
        while let Some(batch) = rx.recv().await {
            batch.iter().for_each(|e: &String| found(e));
        }
    };
    let (read, ()) = tokio::join!(reading, feeding);
    read
}
