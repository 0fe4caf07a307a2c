//! Reads the host through sysinfo. Refreshes only what a sample uses; disk, interface and
//! sensor lists are re-listed about once a minute, not every tick (re-listing is the costly part).

use super::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use sysinfo::{
    Components, CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, ProcessRefreshKind, ProcessesToUpdate, System,
};

const RELIST_EVERY: Duration = Duration::from_secs(60);

pub struct Sampler {
    system: System,
    disks: Disks,
    networks: Networks,
    /// `None` where the OS offers no sensors to this user.
    components: Option<Components>,
    hostname: String,
    top_n: usize,
    last_relist: Instant,
    /// Cumulative counters from the previous tick, so rates survive re-listing.
    prev_disk: HashMap<String, (u64, u64)>,
    prev_net: HashMap<String, (u64, u64)>,
    prev_at: Option<Instant>,
}

impl Sampler {
    pub fn new(top_n: usize) -> Result<Self, String> {
        let mut system = System::new().map_err(|e| format!("cannot read system information: {e}"))?;
        system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        let disks = Disks::new_with_refreshed_list_specifics(disk_kind()).map_err(|e| format!("cannot list disks: {e}"))?;
        let networks = Networks::new_with_refreshed_list().map_err(|e| format!("cannot list network interfaces: {e}"))?;
        // Sensors are optional: a machine without readable ones still samples everything else.
        let components = Components::new_with_refreshed_list().map_err(|e| tracing::info!("temperatures unavailable: {e}")).ok();
        let hostname = System::host_name().unwrap_or_else(|_| "unknown".into());
        let mut s = Sampler {
            system,
            disks,
            networks,
            components,
            hostname,
            top_n,
            last_relist: Instant::now(),
            prev_disk: HashMap::new(),
            prev_net: HashMap::new(),
            prev_at: None,
        };
        s.refresh_processes();
        s.remember_counters(Instant::now());
        Ok(s)
    }

    pub fn set_top_n(&mut self, n: usize) {
        self.top_n = n;
    }

    fn refresh_processes(&mut self) {
        if self.top_n > 0 {
            // Without tasks: on Linux every thread would otherwise be read and kept as a process
            // of its own, only to be filtered out; a process's figures already include its threads.
            let kind = ProcessRefreshKind::nothing().with_cpu().with_memory().without_tasks();
            self.system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        }
    }

    fn remember_counters(&mut self, now: Instant) {
        self.prev_disk = self
            .disks
            .iter()
            .map(|d| {
                let u = d.usage();
                (d.mount_point().to_string_lossy().into_owned(), (u.total_read_bytes, u.total_written_bytes))
            })
            .collect();
        self.prev_net =
            self.networks.iter().map(|(n, d)| (n.to_string_lossy().into_owned(), (d.total_received(), d.total_transmitted()))).collect();
        self.prev_at = Some(now);
    }

    /// Takes one sample. `ts_ms` comes from the engine's clock.
    pub fn sample(&mut self, ts_ms: i64) -> HostSample {
        let now = Instant::now();
        if now.duration_since(self.last_relist) >= RELIST_EVERY {
            self.disks.refresh_specifics(true, disk_kind());
            if let Some(c) = self.components.as_mut() {
                c.refresh(true);
            }
            self.last_relist = now;
        } else {
            for d in self.disks.iter_mut() {
                d.refresh_specifics(disk_kind());
            }
            for c in self.components.iter_mut().flat_map(|c| c.iter_mut()) {
                c.refresh();
            }
        }
        // Networks has no per-interface refresh; its refresh re-reads the counters of the list.
        self.networks.refresh(true);
        self.system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        self.system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        self.refresh_processes();

        let secs = self.prev_at.map_or(0.0, |p| now.duration_since(p).as_secs_f64());
        let rate = |now_v: u64, prev_v: Option<u64>| match prev_v {
            Some(p) if secs > 0.0 && now_v >= p => (now_v - p) as f64 / secs,
            _ => 0.0,
        };

        let cpu = CpuSample {
            total_percent: f64::from(self.system.global_cpu_usage()),
            per_core_percent: self.system.cpus().iter().map(|c| f64::from(c.usage())).collect(),
        };
        let load = System::load_average().ok().map(|l| LoadSample { one: l.one, five: l.five, fifteen: l.fifteen });
        let memory = MemorySample {
            total_bytes: self.system.total_memory(),
            used_bytes: self.system.used_memory(),
            available_bytes: self.system.available_memory(),
            swap_total_bytes: self.system.total_swap(),
            swap_used_bytes: self.system.used_swap(),
            pressure: pressure::read(),
        };

        let mut disks: Vec<DiskSample> = Vec::new();
        for d in self.disks.iter() {
            let mount = d.mount_point().to_string_lossy().into_owned();
            if d.total_space() == 0 || !is_user_visible_mount(&mount) || disks.iter().any(|x| x.mount_point == mount) {
                continue;
            }
            let u = d.usage();
            let prev = self.prev_disk.get(&mount).copied();
            let used = d.total_space().saturating_sub(d.available_space());
            disks.push(DiskSample {
                name: d.name().to_string_lossy().into_owned(),
                file_system: d.file_system().to_string_lossy().into_owned(),
                total_bytes: d.total_space(),
                used_bytes: used,
                available_bytes: d.available_space(),
                used_percent: percent(used, d.total_space()),
                read_bytes_per_sec: rate(u.total_read_bytes, prev.map(|p| p.0)),
                write_bytes_per_sec: rate(u.total_written_bytes, prev.map(|p| p.1)),
                removable: d.is_removable(),
                mount_point: mount,
            });
        }
        let mut disks = one_per_device(disks);
        disks.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));

        let mut networks: Vec<NetworkSample> = Vec::new();
        let mut total = NetworkSample { interface: "all".into(), ..Default::default() };
        for (name, data) in self.networks.iter() {
            let name = name.to_string_lossy().into_owned();
            if is_loopback(&name) || (data.total_received() == 0 && data.total_transmitted() == 0) {
                continue;
            }
            let prev = self.prev_net.get(&name).copied();
            let n = NetworkSample {
                rx_bytes_per_sec: rate(data.total_received(), prev.map(|p| p.0)),
                tx_bytes_per_sec: rate(data.total_transmitted(), prev.map(|p| p.1)),
                interface: name,
            };
            total.rx_bytes_per_sec += n.rx_bytes_per_sec;
            total.tx_bytes_per_sec += n.tx_bytes_per_sec;
            networks.push(n);
        }
        networks.sort_by(|a, b| a.interface.cmp(&b.interface));

        let mut temperatures: Vec<TemperatureSample> = self
            .components
            .iter()
            .flat_map(|c| c.iter())
            .filter_map(|c| {
                let t = f64::from(c.temperature()?);
                (t.is_finite() && t > -50.0 && t < 200.0).then(|| TemperatureSample {
                    label: c.label().to_string(),
                    celsius: t,
                    critical_celsius: c.critical().map(f64::from).filter(|v| v.is_finite()),
                })
            })
            .collect();
        temperatures.sort_by(|a, b| a.label.cmp(&b.label));

        let (top_cpu, top_memory) = self.top_processes();
        self.remember_counters(now);

        HostSample {
            ts_ms,
            hostname: self.hostname.clone(),
            uptime_secs: System::uptime().unwrap_or(0),
            cpu,
            load,
            memory,
            disks,
            networks,
            network_total: total,
            temperatures,
            top_cpu,
            top_memory,
        }
    }

    fn top_processes(&self) -> (Vec<ProcessSample>, Vec<ProcessSample>) {
        if self.top_n == 0 {
            return (Vec::new(), Vec::new());
        }
        let all: Vec<ProcessSample> = self
            .system
            .processes()
            .values()
            // Threads show up as processes on Linux; count each process once.
            .filter(|p| p.thread_kind().is_none())
            .map(|p| ProcessSample {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cpu_percent: f64::from(p.cpu_usage()),
                memory_bytes: p.memory(),
            })
            .collect();
        let top = |key: fn(&ProcessSample) -> f64| {
            let mut v = all.clone();
            v.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.pid.cmp(&b.pid)));
            v.truncate(self.top_n);
            v
        };
        (top(|p| p.cpu_percent), top(|p| p.memory_bytes as f64))
    }
}

fn disk_kind() -> DiskRefreshKind {
    DiskRefreshKind::nothing().with_storage().with_io_usage()
}

fn is_loopback(name: &str) -> bool {
    name == "lo" || name.starts_with("lo0") || name == "lo0"
}

/// macOS lists the sealed system volume's helper mounts; a person cares about `/`, the data
/// volume and external disks.
fn is_user_visible_mount(mount: &str) -> bool {
    if cfg!(target_os = "macos") {
        if mount.starts_with("/System/Volumes/") {
            return mount == "/System/Volumes/Data";
        }
        if mount.starts_with("/private/var/vm") {
            return false;
        }
    }
    !(mount.starts_with("/boot/efi") || mount.starts_with("/snap/"))
}

/// What a mount stores its data on: the device, or for APFS the container its volumes share
/// (`/dev/disk3s1s1` and `/dev/disk3s5` are both `/dev/disk3`), with the size as a check. None
/// for a name that is no device (`tmpfs`, `overlay`), which is never merged.
fn storage_of(d: &DiskSample) -> Option<(&str, u64)> {
    if !d.name.starts_with('/') {
        return None;
    }
    let mut device = d.name.as_str();
    if d.file_system.eq_ignore_ascii_case("apfs") {
        if let Some(at) = device.rfind("disk") {
            let digits = device[at + 4..].bytes().take_while(u8::is_ascii_digit).count();
            device = &device[..at + 4 + digits];
        }
    }
    Some((device, d.total_bytes))
}

/// One sample per storage: the same space seen through two mount points (APFS `/` and
/// `/System/Volumes/Data`, a Linux bind mount) would otherwise raise two alerts for one full
/// disk. The shortest mount point stands for it.
fn one_per_device(mut disks: Vec<DiskSample>) -> Vec<DiskSample> {
    disks.sort_by(|a, b| a.mount_point.len().cmp(&b.mount_point.len()).then_with(|| a.mount_point.cmp(&b.mount_point)));
    let mut seen = std::collections::HashSet::new();
    disks.retain(|d| storage_of(d).is_none_or(|(device, total)| seen.insert((device.to_string(), total))));
    disks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(name: &str, mount: &str, fs: &str, total_gib: u64) -> DiskSample {
        DiskSample {
            name: name.into(),
            mount_point: mount.into(),
            file_system: fs.into(),
            total_bytes: total_gib << 30,
            ..Default::default()
        }
    }

    fn mounts(disks: Vec<DiskSample>) -> Vec<String> {
        let mut m: Vec<String> = one_per_device(disks).into_iter().map(|d| d.mount_point).collect();
        m.sort();
        m
    }

    #[test]
    fn apfs_volumes_of_one_container_are_one_disk() {
        // As a Mac mini lists them (after the helper mounts are filtered out).
        let mac = vec![
            disk("/dev/disk3s5", "/System/Volumes/Data", "apfs", 460),
            disk("/dev/disk3s1s1", "/", "apfs", 460),
            disk("/dev/disk5s1", "/Volumes/Backup", "apfs", 1863),
            disk("/dev/disk6s2", "/Volumes/Stick", "msdos", 460),
        ];
        assert_eq!(mounts(mac), vec!["/", "/Volumes/Backup", "/Volumes/Stick"]);
    }

    #[test]
    fn a_bind_mount_is_one_disk_and_same_sized_disks_stay_apart() {
        let linux = vec![
            disk("/dev/sda2", "/", "ext4", 200),
            disk("/dev/sda2", "/var/lib/docker", "ext4", 200),
            disk("/dev/sdb1", "/srv", "ext4", 200),
            disk("tmpfs", "/run", "tmpfs", 2),
            disk("tmpfs", "/dev/shm", "tmpfs", 2),
        ];
        assert_eq!(mounts(linux), vec!["/", "/dev/shm", "/run", "/srv"]);
    }

    #[test]
    fn samples_this_host() {
        let mut s = Sampler::new(5).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let sample = s.sample(1_000);
        assert_eq!(sample.ts_ms, 1_000);
        assert!(sample.memory.total_bytes > 0);
        assert!(sample.memory.used_bytes <= sample.memory.total_bytes);
        assert!(!sample.cpu.per_core_percent.is_empty());
        assert!((0.0..=100.0).contains(&sample.cpu.total_percent));
        assert!(!sample.disks.is_empty(), "at least the root filesystem");
        assert!(sample.top_memory.len() <= 5 && !sample.top_memory.is_empty());
        assert!(sample.top_memory.windows(2).all(|w| w[0].memory_bytes >= w[1].memory_bytes));
        let points = sample.series_points();
        assert!(points.iter().any(|p| p.metric == "cpu_usage_percent"));
        assert!(points.iter().any(|p| p.metric == "disk_used_percent" && p.labels.starts_with("mount=")));
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/pressure/memory").exists() {
            assert!(matches!(sample.memory.pressure, Some(MemoryPressure::Psi { .. })), "{:?}", sample.memory.pressure);
            assert!(points.iter().any(|p| p.metric == "memory_pressure_some_percent" && p.labels == "window=60s"));
        }
    }
}
