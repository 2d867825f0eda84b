//! Unit tests of `recorded` (`super`): the tidy CSV, timestamps, order and merging.

use super::*;

fn err(text: &str) -> String {
    match parse(text, "m.csv") {
        Ok(r) => panic!("accepted: {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn recorded_csv_reads_both_timestamp_forms() {
    let r = parse(
            "# a comment\ntimestamp,series,value\n1717408800,requests,10\n2024-06-03T10:00:15Z,requests,12.4\n2024-06-03T10:00:30.5+00:00,requests,3\n",
            "m.csv",
        )
        .unwrap();
    let pts = &r.get(SeriesName::Requests).unwrap().points;
    assert_eq!(
        pts.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
        vec![1_717_408_800_000, 1_717_408_815_000, 1_717_408_830_500]
    );
    assert_eq!(pts[1].value, 12.0, "counts are rounded");
    assert_eq!(pts[0].at.line, 3, "comment lines count");
    assert_eq!(
        format_timestamp(1_717_408_830_500),
        "2024-06-03T10:00:30.500Z"
    );
    assert_eq!(format_timestamp(1_717_408_815_000), "2024-06-03T10:00:15Z");
}

#[test]
fn recorded_csv_problems_are_located() {
    let e = err("timestamp,series,value\n10,requests,1\n10,requests,2\n5,requests,1\n");
    assert!(e.contains("m.csv:3: duplicate timestamp"), "{e}");
    assert!(
        e.contains(
            "m.csv:4: timestamp 1970-01-01T00:00:05Z of series requests is before the previous one"
        ),
        "{e}"
    );
    let e = err("timestamp,series,value\n10,request,1\n20,errors,NaN\n30,errors,\n");
    assert!(
        e.contains("m.csv:2: unknown series \"request\"; expected one of requests"),
        "{e}"
    );
    assert!(e.contains("m.csv:3: errors is NaN"), "{e}");
    assert!(e.contains("m.csv:4: empty value for errors"), "{e}");
    let e = err("time,series,value\n10,requests,1\n");
    assert!(e.contains("m.csv:1: the header is"), "{e}");
    let e = err("timestamp,series,value\nyesterday,requests,1\n2024-06-03T10:00:00,requests,1\n");
    assert!(
        e.contains("m.csv:2: timestamp \"yesterday\" is not RFC 3339"),
        "{e}"
    );
    assert!(
        e.contains("m.csv:3: timestamp \"2024-06-03T10:00:00\" has no offset"),
        "{e}"
    );
    let e = err("timestamp,series,value\n1,health_check,0.5\n2,error_ratio,2\n3,requests,-1\n");
    assert!(e.contains("m.csv:2: health_check = 0.5; expected 1"), "{e}");
    assert!(
        e.contains("m.csv:3: error_ratio = 2; expected a ratio"),
        "{e}"
    );
    assert!(e.contains("m.csv:4: requests = -1 is negative"), "{e}");
}

#[test]
fn recorded_series_given_twice_is_an_error() {
    let mut a = parse("timestamp,series,value\n1,requests,1\n", "a.csv").unwrap();
    let b = parse("timestamp,series,value\n1,requests,1\n", "b.csv").unwrap();
    let e = a.merge(b).unwrap_err().to_string();
    assert!(
        e.contains("b.csv:2: series requests is also in another input (a.csv:2)"),
        "{e}"
    );
}

#[test]
fn gauge_series_are_read_from_every_format_and_checked() {
    // A Prometheus matrix and a CloudWatch export name gauges as they name the rest.
    let prom = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"series":"requests"},"values":[[15,"10"],[30,"12"]]},
        {"metric":{"series":"cpu"},"values":[[15,"0.42"],[30,"0.97"]]},
        {"metric":{"series":"old_queue_length"},"values":[[15,"3.5"]]}]}}"#;
    let r = parse(prom, "q.json").unwrap();
    let cpu = &r.get(SeriesName::Cpu).unwrap().points;
    assert_eq!(
        (cpu[0].value, cpu[1].value),
        (0.42, 0.97),
        "gauges are not rounded"
    );
    assert_eq!(
        r.get(SeriesName::OldQueueLength).unwrap().points[0].value,
        3.5
    );
    let cw = r#"{"MetricDataResults":[{"Id":"saturation","Timestamps":["2024-06-03T10:01:00Z"],"Values":[1.25],"StatusCode":"Complete"}]}"#;
    let r = parse(cw, "cw.json").unwrap();
    assert_eq!(r.get(SeriesName::Saturation).unwrap().points[0].value, 1.25);
    // A CPU outside [0, 1] (a percentage, or cores) and a negative level are refused.
    let e = err("timestamp,series,value\n1,cpu,85\n2,queue_length,-1\n3,old_saturation,-0.5\n");
    assert!(
        e.contains("m.csv:2: cpu = 85; expected a share of the cores in [0, 1]"),
        "{e}"
    );
    assert!(
        e.contains("m.csv:3: queue_length = -1 is negative; expected a level >= 0"),
        "{e}"
    );
    assert!(
        e.contains("m.csv:4: old_saturation = -0.5 is negative"),
        "{e}"
    );
    // A gauge point needs its version's requests at the same timestamp.
    let r = parse(
        "timestamp,series,value\n15,requests,1\n30,cpu,0.5\n",
        "m.csv",
    )
    .unwrap();
    let e = Scrapes::from_recording(&r).unwrap_err().to_string();
    assert!(
        e.contains("m.csv:3: cpu at 1970-01-01T00:00:30Z has no requests point"),
        "{e}"
    );
}
