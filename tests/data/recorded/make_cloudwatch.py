# Makes alb-canary-cloudwatch.json: a CloudWatch get-metric-data export shaped as the AWS
# CLI prints it (4-space indent, timestamps with +00:00, newest first, the errors query in
# two pages as the CLI joins them). Seeded, so it is the same every time:
#   python3 tests/data/recorded/make_cloudwatch.py > tests/data/recorded/alb-canary-cloudwatch.json
import json, math, random

random.seed(20240603)
start = 1717405200  # 2024-06-03T09:00:00Z
period = 60
n = 60


def stamp(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def poisson(mean):
    # Knuth's method: small means only.
    l, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= random.random()
        if p <= l:
            return k
        k += 1


times = [start + period * (i + 1) for i in range(n)]
requests = [poisson(40.0) for _ in times]
errors = [sum(1 for _ in range(r) if random.random() < 0.01) for r in requests]
p99 = [round(1000 * 0.25 * math.exp(random.gauss(0, 0.15)), 3) for _ in times]
# A scrape the load balancer never reported: no point in any query (a lost scrape).
lost = 37
keep = [i for i in range(n) if i != lost]


def query(qid, label, values, idx):
    idx = sorted(idx, reverse=True)  # newest first, CloudWatch's default ScanBy
    return {
        "Id": qid,
        "Label": label,
        "Timestamps": [stamp(times[i]) for i in idx],
        "Values": [float(values[i]) for i in idx],
        "StatusCode": "Complete",
    }


err = query("errors", "HTTPCode_Target_5XX_Count", errors, keep)
half = len(err["Timestamps"]) // 2
page1 = dict(err, Timestamps=err["Timestamps"][:half], Values=err["Values"][:half], StatusCode="PartialData")
page2 = dict(err, Timestamps=err["Timestamps"][half:], Values=err["Values"][half:])
out = {
    "MetricDataResults": [
        query("requests", "RequestCount", requests, keep),
        page1,
        query("latency_p99_ms", "TargetResponseTime p99 x 1000", p99, keep),
        page2,
    ],
    "Messages": [],
}
print(json.dumps(out, indent=4))
