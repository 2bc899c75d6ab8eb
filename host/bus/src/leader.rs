//! Whether the stream can take writes: on a cluster, a replicated stream needs a leader, and
//! has none while a majority of its nodes is down (or during an election).

use std::time::Duration;

use crate::Bus;

/// Longest wait for the stream's answer before it counts as leaderless.
const LEADER_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

impl Bus {
    /// `Ok` when the stream has a leader; `Err(why)` otherwise. A stream of one replica is not
    /// asked (it has no election; a lost server shows as a lost connection).
    pub async fn stream_has_leader(&self) -> Result<(), String> {
        if self.stream_replicas <= 1 {
            return Ok(());
        }
        let ask = async {
            let mut stream = self
                .js
                .get_stream(&*self.stream)
                .await
                .map_err(|e| e.to_string())?;
            let info = stream.info().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(info.cluster.as_ref().and_then(|c| c.leader.clone()))
        };
        match tokio::time::timeout(LEADER_CHECK_TIMEOUT, ask).await {
            Ok(Ok(Some(_))) => Ok(()),
            Ok(Ok(None)) => Err(format!("stream {} has no leader", self.stream)),
            Ok(Err(err)) => Err(format!("stream {} has no leader: {err}", self.stream)),
            Err(_) => Err(format!(
                "stream {} has no leader: it did not answer within {LEADER_CHECK_TIMEOUT:?}",
                self.stream
            )),
        }
    }
}
