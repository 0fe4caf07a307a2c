//! Host metrics: the sampler (sysinfo), the series it produces, rollups, retention and chart
//! queries. Owns the `series`, `samples`, `rollup_minute` and `rollup_hour` tables.

pub mod config;
pub mod estimate;
pub mod forecast;
pub mod pressure;
mod sampler;
mod schedule;
pub(crate) mod service;
pub(crate) mod store;

pub use estimate::StorageEstimate;
pub use pressure::{MemoryPressure, PressureLevel, PsiLine};
pub use sampler::Sampler;
pub use store::{prune, query_series, rollup, write_points, Pruned, RetentionPolicy, SeriesCache};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Everything one tick of the sampler saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct HostSample {
    pub ts_ms: i64,
    pub hostname: String,
    pub uptime_secs: u64,
    pub cpu: CpuSample,
    /// `None` where the OS has no load average (Windows).
    pub load: Option<LoadSample>,
    pub memory: MemorySample,
    pub disks: Vec<DiskSample>,
    pub networks: Vec<NetworkSample>,
    /// Sum over non-loopback interfaces.
    pub network_total: NetworkSample,
    /// Empty where the OS exposes no sensors to this user (common in VMs).
    pub temperatures: Vec<TemperatureSample>,
    pub top_cpu: Vec<ProcessSample>,
    pub top_memory: Vec<ProcessSample>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct CpuSample {
    pub total_percent: f64,
    pub per_core_percent: Vec<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct LoadSample {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct MemorySample {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
    /// Where the OS reports it (Linux PSI, macOS); what the memory alert judges when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub pressure: Option<MemoryPressure>,
}

impl MemorySample {
    pub fn used_percent(&self) -> f64 {
        percent(self.used_bytes, self.total_bytes)
    }
    pub fn swap_used_percent(&self) -> f64 {
        percent(self.swap_used_bytes, self.swap_total_bytes)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct DiskSample {
    pub name: String,
    pub mount_point: String,
    pub file_system: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub used_percent: f64,
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
    pub removable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct NetworkSample {
    pub interface: String,
    pub rx_bytes_per_sec: f64,
    pub tx_bytes_per_sec: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct TemperatureSample {
    pub label: String,
    pub celsius: f64,
    pub critical_celsius: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct ProcessSample {
    pub pid: u32,
    pub name: String,
    /// Percent of one core, as Activity Monitor shows it (can exceed 100 on several cores).
    pub cpu_percent: f64,
    pub memory_bytes: u64,
}

/// One value of one series: a metric name, its labels (`mount=/`), a unit and a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SeriesPoint {
    pub metric: String,
    pub labels: String,
    pub unit: String,
    pub value: f64,
}

pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl HostSample {
    /// The sample as the flat series the store and charts share. Names carry their unit.
    pub fn series_points(&self) -> Vec<SeriesPoint> {
        let mut out = Vec::with_capacity(16 + self.disks.len() * 4 + self.networks.len() * 2);
        let mut push = |metric: &str, labels: String, unit: &str, value: f64| {
            if value.is_finite() {
                out.push(SeriesPoint { metric: metric.into(), labels, unit: unit.into(), value });
            }
        };
        push("cpu_usage_percent", String::new(), "percent", self.cpu.total_percent);
        for (i, v) in self.cpu.per_core_percent.iter().enumerate() {
            push("cpu_core_usage_percent", format!("core={i}"), "percent", *v);
        }
        if let Some(l) = &self.load {
            push("load_average", "window=1m".into(), "", l.one);
            push("load_average", "window=5m".into(), "", l.five);
            push("load_average", "window=15m".into(), "", l.fifteen);
        }
        let m = &self.memory;
        push("memory_used_bytes", String::new(), "bytes", m.used_bytes as f64);
        push("memory_used_percent", String::new(), "percent", m.used_percent());
        push("swap_used_bytes", String::new(), "bytes", m.swap_used_bytes as f64);
        push("swap_used_percent", String::new(), "percent", m.swap_used_percent());
        match &m.pressure {
            Some(MemoryPressure::Psi { some, full }) => {
                for (window, v) in [("10s", some.avg10), ("60s", some.avg60), ("300s", some.avg300)] {
                    push("memory_pressure_some_percent", format!("window={window}"), "percent", v);
                }
                for (window, v) in full.iter().flat_map(|f| [("10s", f.avg10), ("60s", f.avg60), ("300s", f.avg300)]) {
                    push("memory_pressure_full_percent", format!("window={window}"), "percent", v);
                }
            }
            // 0 normal, 1 warning, 2 critical: ascending on a chart, unlike the kernel's 1, 2, 4.
            Some(MemoryPressure::Macos { level }) => push("memory_pressure_level", String::new(), "level", *level as u8 as f64),
            None => {}
        }
        for d in &self.disks {
            let l = format!("mount={}", d.mount_point);
            push("disk_used_bytes", l.clone(), "bytes", d.used_bytes as f64);
            push("disk_used_percent", l.clone(), "percent", d.used_percent);
            push("disk_read_bytes_per_second", l.clone(), "bytes_per_second", d.read_bytes_per_sec);
            push("disk_write_bytes_per_second", l, "bytes_per_second", d.write_bytes_per_sec);
        }
        push("network_receive_bytes_per_second", String::new(), "bytes_per_second", self.network_total.rx_bytes_per_sec);
        push("network_transmit_bytes_per_second", String::new(), "bytes_per_second", self.network_total.tx_bytes_per_sec);
        for n in &self.networks {
            let l = format!("interface={}", n.interface);
            push("network_receive_bytes_per_second", l.clone(), "bytes_per_second", n.rx_bytes_per_sec);
            push("network_transmit_bytes_per_second", l, "bytes_per_second", n.tx_bytes_per_sec);
        }
        for t in &self.temperatures {
            push("temperature_celsius", format!("sensor={}", t.label), "celsius", t.celsius);
        }
        out
    }
}
