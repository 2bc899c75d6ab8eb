//! A JetStream cluster of `nats-server` processes on loopback ports, joined by cluster routes,
//! for tests of replicated streams (`--stream-replicas 3`) and of nodes that fail.

use crate::{NatsServer, free_port};

/// Several [`NatsServer`]s forming one JetStream cluster (`hops-test`), each a node named
/// `n0`, `n1`, …; killed and cleaned up when dropped.
#[derive(Debug)]
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts `size` nodes (at least 3 for a JetStream quorum) at once: a node waits for its
    /// routes, so starting them one by one would wait for nothing.
    pub async fn start(size: usize) -> NatsCluster {
        assert!(size >= 3, "a JetStream cluster needs at least 3 nodes");
        let route_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let routes = route_ports
            .iter()
            .map(|p| format!("nats-route://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(", ");
        let starts = route_ports.iter().enumerate().map(|(i, port)| {
            let config = format!(
                "server_name: n{i}\ncluster {{\n  name: hops-test\n  listen: 127.0.0.1:{port}\n  routes: [{routes}]\n}}\n"
            );
            tokio::spawn(NatsServer::builder().config(config).start())
        });
        let mut nodes = Vec::with_capacity(size);
        for start in starts.collect::<Vec<_>>() {
            nodes.push(start.await.expect("a nats-server start task panicked"));
        }
        NatsCluster { nodes }
    }

    /// Every node's client URL, comma-separated (what `--nats-url` takes).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `i`.
    pub fn node(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    /// The index of the node named `name` (`n0`, `n1`, …), e.g. a stream's leader.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let i: usize = name.strip_prefix('n')?.parse().ok()?;
        (i < self.nodes.len()).then_some(i)
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: a cluster has at least 3 nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
