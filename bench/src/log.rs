//! Read access to aws-sim's request log for the scenarios: counts and real
//! arrival times of AWS calls. It knows no scenario.

/// Read access to the sim's request log.
pub struct LogView(pub std::sync::Arc<aws_sim::Sim>);

impl LogView {
    pub fn seq(&self) -> u64 {
        self.0.log.len()
    }

    /// Real milliseconds since the sim started.
    pub fn real_ms(&self) -> u64 {
        self.0.started.elapsed().as_millis() as u64
    }

    pub fn count(&self, op: &str, since: u64) -> usize {
        self.0.log.query(since, None, Some(op)).len()
    }

    /// Real arrival times (ms) of `service`/`op` since `since`, in order.
    pub fn times_ms(&self, service: &str, op: &str, since: u64) -> Vec<u64> {
        self.0
            .log
            .query(since, Some(service), Some(op))
            .into_iter()
            .map(|r| r.real_ms)
            .collect()
    }

    /// Like [`LogView::times_ms`], successful calls only.
    pub fn ok_times_ms(&self, service: &str, op: &str, since: u64) -> Vec<u64> {
        self.0
            .log
            .query(since, Some(service), Some(op))
            .into_iter()
            .filter(|r| r.status < 300)
            .map(|r| r.real_ms)
            .collect()
    }
}
