//! The metrics service's forecast loop: every few minutes, each disk of the latest sample gets a
//! trend from the hour rollups of the last week, and the "disk full in N days" alert follows it.

use super::forecast::{self, DiskForecast};
use super::service::Service;
use std::sync::Arc;
use std::time::Duration;

/// Hour rollups change once an hour; a few looks in between catch a restart's first one.
const EVERY: Duration = Duration::from_secs(600);

impl Service {
    /// Each disk's trend as last computed (empty before the first sample).
    pub fn forecasts(&self) -> Vec<DiskForecast> {
        self.forecasts.read().map(|f| f.clone()).unwrap_or_default()
    }

    pub async fn run_forecasts(self: Arc<Self>) {
        loop {
            // The first forecast waits for the first sample (it names the disks).
            let wait = if self.latest().is_some() { EVERY } else { Duration::from_secs(1) };
            if self.latest().is_some() {
                self.forecast_now().await;
            }
            if !self.core().sleep(wait).await {
                return;
            }
        }
    }

    async fn forecast_now(&self) {
        let Some(sample) = self.latest() else { return };
        let core = self.core().clone();
        let since = core.now() - forecast::WINDOW_MS;
        let disks: Vec<(String, u64, u64)> = sample.disks.iter().map(|d| (d.mount_point.clone(), d.used_bytes, d.total_bytes)).collect();
        let read = core
            .db
            .read_async(move |c| {
                disks
                    .into_iter()
                    .map(|(mount, used, total)| Ok(forecast::forecast(&mount, used, total, &forecast::read_hourly(c, &mount, since)?)))
                    .collect::<crate::error::Result<Vec<_>>>()
            })
            .await;
        let list = match read {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!("could not read the disk trends: {e}");
                return;
            }
        };
        if let Ok(mut f) = self.forecasts.write() {
            *f = list.clone();
        }
        core.with_alerts(move |m, c, now| {
            let mut fx = crate::alerts::Effects::default();
            for f in &list {
                fx.merge(m.on_disk_forecast(c, f, now)?);
            }
            Ok(fx)
        })
        .await;
    }
}
