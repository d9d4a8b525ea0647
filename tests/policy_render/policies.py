"""Policies the render tests use, written as users write them (YAML text)."""

from __future__ import annotations

# Every channel type, a disabled channel, two routes (the first with continue), rules that take
# each path of the monitor's channel choice: own channels, routes, escalation steps, a channel
# without an Alertmanager receiver, only disabled channels, and a disabled rule. Expressions
# stress YAML quoting: double quotes, backticks, regexes with backslashes, line filters.
RICH = r"""
version: 1
channels:
  console: {type: console}
  chat: {type: slack, url: "{base}/slack/T000/B000/XXXX", send_resolved: false}
  hook:
    type: webhook
    url: "{base}/hook"
    headers: {Authorization: "Bearer s3cret", X-Team: ops}
  pager: {type: pagerduty, routing_key: 0123456789abcdef0123456789abcdef, url: "{base}/pd/v2/enqueue"}
  pd-default: {type: pagerduty, routing_key: fedcba9876543210fedcba9876543210}
  mail:
    type: email
    host: 127.0.0.1
    port: {smtp_port}
    starttls: true
    ca_file: "{ca_file}"
    from: aibos@example.test
    to: [ops@example.test, dev@example.test]
  relay:
    type: email
    host: smtp.example.test
    starttls: false
    username: alerts
    password: "hunter2"
    from: aibos@example.test
    to: oncall@example.test
  am: {type: alertmanager, url: "http://127.0.0.1:9"}
  muted: {type: slack, url: "${AIBOS_RENDER_TEST_UNSET:-}"}
alerting:
  group_wait: 0s
  repeat_interval: 1h30m
  default_channels: [console, hook]
  routes:
    - match: {severity: critical}
      channels: [pager, chat]
      continue: true
    - match_re: {service_name: 'pay\d*|"quoted"'}
      channels: [mail]
rules:
  - name: error-spike
    expr: sum by (service_name) (rate({level="error"}[5m])) > 0.1
    for: 2m
    labels: {severity: warning, team: web}
    annotations:
      summary: "{{ $labels.service_name }}: {{ $value }} errors/s"
      runbook: "https://runbooks.example.test/error-spike"
    channels: [chat, console]
  - name: fatal-errors
    expr: 'sum by (service_name) (count_over_time({level="fatal"} |= `panic: "x"` [1m])) > 0'
    labels: {severity: critical}
    annotations: {summary: "{{$labels.service_name}} logged {{ $value }} fatal line(s)"}
    escalation: immediate
  - name: slow-checkout
    expr: 'count by (service_name) (count_over_time({service_name=~"check.*", level!="debug"} |~ "took \\d+ms" [10m])) >= 3'
    for: 1h30m
    labels: {severity: warning}
  - name: escalating
    expr: sum(bytes_rate({level="warn"}[1m])) > 1e6
    escalation:
      - {after: 0s, channels: [hook]}
      - {after: 15m, channels: [pager]}
  - name: console-only
    expr: sum(rate({level="info"}[1m])) > 1000
    channels: [console]
  - name: muted-only
    expr: sum(rate({level="trace"}[1m])) > 1000
    channels: [muted]
  - name: retired
    expr: sum(rate({level="debug"}[1m])) > 1
    enabled: false
"""


def rich(base: str = "http://127.0.0.1:9", smtp_port: int = 2525, ca_file: str = "") -> str:
    """:data:`RICH` with the receivers' base URL, SMTP port and CA file filled in."""
    return RICH.replace("{base}", base).replace("{smtp_port}", str(smtp_port)).replace("{ca_file}", ca_file)
