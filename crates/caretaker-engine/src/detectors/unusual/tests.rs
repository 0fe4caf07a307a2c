use super::*;

/// A deterministic noise source in [-1, 1] (a linear congruential generator).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// Five-minute points from a fixed start; returns the findings with their row index.
fn run(values: &[f64]) -> Vec<(usize, Finding)> {
    let mut state = UnusualState::new(Params::default());
    let start = 1_396_310_400; // 2014-04-01 00:00 UTC, a Tuesday
    values.iter().enumerate().filter_map(|(i, &v)| state.observe(start + 300 * i as i64, v).map(|f| (i, f))).collect()
}

fn noisy(n: usize, level: f64, amplitude: f64, seed: u64) -> Vec<f64> {
    let mut noise = Noise(seed);
    (0..n).map(|_| level + amplitude * noise.next()).collect()
}

#[test]
fn a_flat_noisy_series_never_opens() {
    for seed in 1..6 {
        let found = run(&noisy(6000, 50.0, 5.0, seed));
        assert!(found.is_empty(), "seed {seed}: {found:?}");
    }
    assert!(run(&[7.0; 5000]).is_empty());
}

#[test]
fn a_step_change_opens_once() {
    let mut values = noisy(2000, 50.0, 5.0, 7);
    values.extend(noisy(3000, 80.0, 5.0, 8));
    let found = run(&values);
    assert_eq!(found.len(), 1, "{found:?}");
    let (at, f) = &found[0];
    assert!((2000..2010).contains(at), "opened at row {at}");
    assert!(f.value > 70.0 && f.high < 60.0 && f.low > 40.0, "{f:?}");
    assert!(f.surprise >= 1.0);
}

#[test]
fn a_spike_opens_once_and_explains_itself() {
    let mut values = noisy(3000, 50.0, 5.0, 9);
    values[2500] = 120.0;
    let found = run(&values);
    assert_eq!(found.len(), 1, "{found:?}");
    let (at, f) = &found[0];
    assert_eq!(*at, 2500);
    assert_eq!(f.value, 120.0);
    assert!(f.low < f.high && f.high < 60.0, "{f:?}");
    assert!(!f.context.is_empty());
}

#[test]
fn nothing_opens_while_warming_up() {
    let mut values = noisy(400, 50.0, 5.0, 10);
    values[100] = 500.0;
    assert!(run(&values).is_empty());
}

#[test]
fn an_open_alert_closes_after_a_calm_stretch_and_can_reopen() {
    let mut values = noisy(4000, 50.0, 5.0, 11);
    values[1500] = 150.0;
    values[3500] = 300.0;
    let found = run(&values);
    assert_eq!(found.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![1500, 3500]);
}

#[test]
fn state_stays_within_four_kib() {
    for params in [Params::default(), Params { history: usize::MAX, recent: usize::MAX, ..Params::default() }] {
        let mut state = UnusualState::new(params);
        let before = state.memory_bytes();
        for (i, v) in noisy(5000, 50.0, 5.0, 12).into_iter().enumerate() {
            state.observe(i as i64 * 60, v);
        }
        assert_eq!(state.memory_bytes(), before, "no growth after the buffers fill");
        assert!(state.memory_bytes() <= 4096, "{} bytes", state.memory_bytes());
    }
}

#[test]
fn state_survives_a_round_trip_through_json() {
    let values = {
        let mut v = noisy(3000, 50.0, 5.0, 13);
        v[2600] = 140.0;
        v
    };
    for saved_at in [0, 100, 2000] {
        let mut a = UnusualState::new(Params::default());
        for (i, &v) in values[..saved_at].iter().enumerate() {
            a.observe(i as i64 * 60, v);
        }
        let saved = serde_json::to_string(&a).unwrap();
        let mut b: UnusualState = serde_json::from_str(&saved).unwrap();
        assert_eq!(a, b);
        let opened: Vec<usize> = (saved_at..values.len())
            .filter(|&i| {
                let (x, y) = (a.observe(i as i64 * 60, values[i]), b.observe(i as i64 * 60, values[i]));
                assert_eq!(x, y, "row {i}");
                x.is_some()
            })
            .collect();
        assert_eq!(opened, vec![2600], "saved at {saved_at}");
        assert!(b.memory_bytes() <= 4096);
    }
}

#[test]
fn non_finite_values_are_skipped() {
    let mut state = UnusualState::new(Params::default());
    for i in 0..1000 {
        assert!(state.observe(i * 60, if i % 7 == 0 { f64::NAN } else { 1.0 }).is_none());
    }
    assert!(state.observe(1000 * 60, f64::INFINITY).is_none());
}

#[test]
fn a_missing_daily_peak_is_judged_against_its_time_of_day() {
    // A daily swing between 20 and 80 with light noise, whose peak does not come on day 9.
    let mut noise = Noise(14);
    let values: Vec<f64> = (0..288 * 12)
        .map(|i| {
            let day = (i % 288) as f64 / 288.0 * std::f64::consts::TAU;
            let swing = if i / 288 == 9 { 0.0 } else { 30.0 * day.sin() };
            50.0 + swing + 2.0 * noise.next()
        })
        .collect();
    let found = run(&values);
    assert_eq!(found.len(), 1, "{found:?}");
    let (at, f) = &found[0];
    assert!((288 * 9..288 * 9 + 144).contains(at), "opened at row {at}");
    assert!(f.value < f.low, "{f:?}");
    assert!(f.context.starts_with("Thursday "), "{f:?}");
}
